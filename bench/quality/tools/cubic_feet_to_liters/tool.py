_LITRES_PER_UNIT = 28.316846592


def cubic_feet_to_liters(cubic_feet: float) -> float:
    """Convert cubic feet to litres.

    Args:
        cubic_feet: the value in cubic feet.

    Returns:
        The value in litres.
    """
    return cubic_feet * _LITRES_PER_UNIT
