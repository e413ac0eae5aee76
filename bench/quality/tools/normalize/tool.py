def normalize(values: list[float]) -> list[float]:
    """Scale numbers linearly onto 0..1 (all zeros when they are all equal).

    Args:
        values: the numbers.

    Returns:
        (x - min) / (max - min) for each.
    """
    if not values:
        return []
    low, high = min(values), max(values)
    if high == low:
        return [0.0 for _ in values]
    return [(v - low) / (high - low) for v in values]
