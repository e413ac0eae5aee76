def kwh_to_joules(kwh: float, decimals: int | None = None) -> float:
    """Convert kilowatt-hours to joules.

    Args:
        kwh: the value in kilowatt-hours.
        decimals: round the result to this many decimals (None: no rounding).

    Returns:
        The value in joules.
    """
    result = kwh * 3600000.0
    return result if decimals is None else round(result, decimals)
