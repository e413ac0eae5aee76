def relative_change_percent(old: float, new: float) -> float:
    """Relative change from an old value to a new one, in percent.

    Args:
        old: the reference value.
        new: the new value.

    Returns:
        100·(new − old)/|old|.
    """
    return 100.0 * (new - old) / abs(old)
