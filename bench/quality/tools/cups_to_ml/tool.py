def cups_to_ml(cups: float, decimals: int | None = None) -> float:
    """Convert US cups to millilitres.

    Args:
        cups: the value in US cups.
        decimals: round the result to this many decimals (None: no rounding).

    Returns:
        The value in millilitres.
    """
    result = cups * 236.5882365
    return result if decimals is None else round(result, decimals)
