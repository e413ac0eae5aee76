def hours_to_seconds(hours: float, decimals: int | None = None) -> float:
    """Convert hours to seconds.

    Args:
        hours: the value in hours.
        decimals: round the result to this many decimals (None: no rounding).

    Returns:
        The value in seconds.
    """
    result = hours * 3600.0
    return result if decimals is None else round(result, decimals)
