def range_span(values: list[float]) -> float:
    """Difference between the largest and smallest value.

    Args:
        values: the numbers.

    Returns:
        max - min.

    Raises:
        ValueError: when there are no values.
    """
    if not values:
        raise ValueError("no values")
    return max(values) - min(values)
