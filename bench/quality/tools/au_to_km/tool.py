def au_to_km(au: float, decimals: int | None = None) -> float:
    """Convert astronomical units to kilometres.

    Args:
        au: the value in astronomical units.
        decimals: round the result to this many decimals (None: no rounding).

    Returns:
        The value in kilometres.
    """
    result = au * 149597870.7
    return result if decimals is None else round(result, decimals)
