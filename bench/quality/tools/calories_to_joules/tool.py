def calories_to_joules(calories: float) -> float:
    """Convert thermochemical calories to joules.

    Args:
        calories: the value in calories.

    Returns:
        The value in joules.
    """
    return calories * 4.184
