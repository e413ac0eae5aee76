def fahrenheit_to_celsius(fahrenheit: float) -> float:
    """Convert a temperature from degrees Fahrenheit to degrees Celsius.

    Args:
        fahrenheit: the temperature in °F.

    Returns:
        The temperature in °C.
    """
    return (fahrenheit - 32.0) * 5.0 / 9.0
