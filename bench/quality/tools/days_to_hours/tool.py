_HOURS_PER_UNIT = 24.0


def days_to_hours(days: float) -> float:
    """Convert days to hours.

    Args:
        days: the value in days.

    Returns:
        The value in hours.
    """
    return days * _HOURS_PER_UNIT
