def rankine_to_kelvin(rankine: float) -> float:
    """Convert a temperature in degrees Rankine to kelvin.

    Args:
        rankine: the temperature in °R.

    Returns:
        The temperature in K.
    """
    return rankine * 5.0 / 9.0
