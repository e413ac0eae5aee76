def radians_to_degrees(radians: float) -> float:
    """Convert an angle in radians to degrees.

    Args:
        radians: the value in radians.

    Returns:
        The value in degrees.
    """
    return radians * 57.29577951308232
