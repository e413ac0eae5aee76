def geometric_mean(values: list[float]) -> float:
    """Geometric mean of positive numbers.

    Args:
        values: the numbers, each positive.

    Returns:
        The n-th root of their product.

    Raises:
        ValueError: when there are no values or one is not positive.
    """
    import math

    if not values or any(v <= 0 for v in values):
        raise ValueError("need positive values")
    return math.exp(sum(math.log(v) for v in values) / len(values))
