def cumulative_sum(values: list[float]) -> list[float]:
    """Running totals of a series.

    Args:
        values: the series.

    Returns:
        The cumulative sums, as long as the input.
    """
    total = 0.0
    out = []
    for v in values:
        total += v
        out.append(total)
    return out
