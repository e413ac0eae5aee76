def moving_average(values: list[float], window: int) -> list[float]:
    """Simple moving averages over a sliding window.

    Args:
        values: the series.
        window (>= 1): the window length.

    Returns:
        One average per full window (empty when the series is shorter than the window).
    """
    return [sum(values[i:i + window]) / window for i in range(len(values) - window + 1)]
