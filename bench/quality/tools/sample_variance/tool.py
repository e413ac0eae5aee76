def sample_variance(values: list[float]) -> float:
    """Sample variance (divides by n - 1).

    Args:
        values: at least two numbers.

    Returns:
        The variance.

    Raises:
        ValueError: for fewer than two values.
    """
    if len(values) < 2:
        raise ValueError("need at least two values")
    m = sum(values) / len(values)
    return sum((v - m) ** 2 for v in values) / (len(values) - 1)
