def celsius_to_kelvin(celsius: float) -> float:
    """Convert degrees Celsius to kelvin.

    Args:
        celsius (>= -273.15): the temperature in °C.

    Returns:
        The temperature in K.
    """
    return celsius + 273.15
