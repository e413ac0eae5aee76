def knots_to_kmh(knots: float, decimals: int | None = None) -> float:
    """Convert a speed in knots to km/h.

    Args:
        knots: the value in knots.
        decimals: round the result to this many decimals (None: no rounding).

    Returns:
        The value in km/h.
    """
    result = knots * 1.852
    return result if decimals is None else round(result, decimals)
