def weighted_mean(values: list[float], weights: list[float]) -> float:
    """Weighted arithmetic mean.

    Args:
        values: the numbers.
        weights: one non-negative weight per number.

    Returns:
        Σ wᵢxᵢ / Σ wᵢ.

    Raises:
        ValueError: when the lists differ in length or the weights sum to zero.
    """
    if len(values) != len(weights):
        raise ValueError("values and weights differ in length")
    total = sum(weights)
    if total == 0:
        raise ValueError("weights sum to zero")
    return sum(v * w for v, w in zip(values, weights)) / total
