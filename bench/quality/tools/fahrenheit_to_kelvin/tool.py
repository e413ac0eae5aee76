def fahrenheit_to_kelvin(fahrenheit: float) -> float:
    """Convert degrees Fahrenheit to kelvin.

    Args:
        fahrenheit: the temperature in °F.

    Returns:
        The temperature in K.
    """
    return (fahrenheit - 32.0) * 5.0 / 9.0 + 273.15
