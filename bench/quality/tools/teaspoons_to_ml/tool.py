def teaspoons_to_ml(teaspoons: float, decimals: int | None = None) -> float:
    """Convert US teaspoons to millilitres.

    Args:
        teaspoons: the value in US teaspoons.
        decimals: round the result to this many decimals (None: no rounding).

    Returns:
        The value in millilitres.
    """
    result = teaspoons * 4.92892159375
    return result if decimals is None else round(result, decimals)
