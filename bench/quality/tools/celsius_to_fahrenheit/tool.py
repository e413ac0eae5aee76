def celsius_to_fahrenheit(celsius: float) -> float:
    """Convert a temperature from degrees Celsius to degrees Fahrenheit.

    Args:
        celsius: the temperature in °C.

    Returns:
        The temperature in °F.
    """
    return celsius * 9.0 / 5.0 + 32.0
