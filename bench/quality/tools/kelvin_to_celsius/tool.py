def kelvin_to_celsius(kelvin: float) -> float:
    """Convert an absolute temperature in kelvin to degrees Celsius.

    Args:
        kelvin: the temperature in K (not below absolute zero).

    Returns:
        The temperature in °C.

    Raises:
        ValueError: for a temperature below absolute zero.
    """
    if kelvin < 0:
        raise ValueError("temperature below absolute zero")
    return kelvin - 273.15
