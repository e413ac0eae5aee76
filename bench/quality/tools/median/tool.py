def median(values: list[float]) -> float:
    """Median of some numbers (the mean of the middle two for an even count).

    Args:
        values: the numbers.

    Returns:
        The median.

    Raises:
        ValueError: when there are no values.
    """
    if not values:
        raise ValueError("median of no values")
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return float(ordered[middle])
    return (ordered[middle - 1] + ordered[middle]) / 2
