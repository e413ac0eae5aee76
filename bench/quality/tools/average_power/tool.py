def average_power(work: float, seconds: float) -> float:
    """Average power from work done over a time.

    Args:
        work: energy in joules.
        seconds: duration in s.

    Returns:
        The power in watts.
    """
    return work / seconds
