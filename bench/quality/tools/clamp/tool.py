def clamp(value: float, low: float, high: float) -> float:
    """Limit a value to the range [low, high].

    Args:
        value: the value.
        low: lower limit.
        high: upper limit.

    Returns:
        low if value < low, high if value > high, else value.

    Raises:
        ValueError: when low > high.
    """
    if low > high:
        raise ValueError("low is above high")
    return min(max(value, low), high)
