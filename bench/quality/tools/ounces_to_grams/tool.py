def ounces_to_grams(ounces: float, decimals: int | None = None) -> float:
    """Convert a mass in ounces to grams.

    Args:
        ounces: the value in ounces.
        decimals: round the result to this many decimals (None: no rounding).

    Returns:
        The value in grams.
    """
    result = ounces * 28.349523125
    return result if decimals is None else round(result, decimals)
