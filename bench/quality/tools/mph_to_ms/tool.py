_METRES_PER_SECOND_PER_UNIT = 0.44704


def mph_to_ms(mph: float) -> float:
    """Convert a speed in miles per hour to metres per second.

    Args:
        mph: the value in miles per hour.

    Returns:
        The value in metres per second.
    """
    return mph * _METRES_PER_SECOND_PER_UNIT
