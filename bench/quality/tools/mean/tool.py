def mean(values: list[float]) -> float:
    """Arithmetic mean.

    Args:
        values: the numbers.

    Returns:
        Their mean.

    Raises:
        ValueError: when there are no values.
    """
    if not values:
        raise ValueError("mean of no values")
    return sum(values) / len(values)
