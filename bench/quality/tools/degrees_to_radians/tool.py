_RADIANS_PER_UNIT = 0.017453292519943295


def degrees_to_radians(degrees: float) -> float:
    """Convert an angle in degrees to radians.

    Args:
        degrees: the value in degrees.

    Returns:
        The value in radians.
    """
    return degrees * _RADIANS_PER_UNIT
