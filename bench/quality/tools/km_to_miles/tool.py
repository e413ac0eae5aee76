_MILES_PER_UNIT = 0.621371192237334


def km_to_miles(km: float) -> float:
    """Convert a distance in kilometres to miles.

    Args:
        km: the value in kilometres.

    Returns:
        The value in miles.
    """
    return km * _MILES_PER_UNIT
