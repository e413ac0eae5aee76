def percentile(values: list[float], q: float) -> float:
    """The q-th percentile, by linear interpolation between closest ranks.

    Args:
        values: the numbers.
        q (0 <= q <= 100): the percentile.

    Returns:
        The percentile value.

    Raises:
        ValueError: when there are no values.
    """
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100.0
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)
