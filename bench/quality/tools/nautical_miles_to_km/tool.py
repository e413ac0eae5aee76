_KILOMETRES_PER_UNIT = 1.852


def nautical_miles_to_km(nmi: float) -> float:
    """Convert nautical miles to kilometres.

    Args:
        nmi: the value in nautical miles.

    Returns:
        The value in kilometres.
    """
    return nmi * _KILOMETRES_PER_UNIT
