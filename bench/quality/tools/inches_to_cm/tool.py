def inches_to_cm(inches: float, decimals: int | None = None) -> float:
    """Convert a length in inches to centimetres.

    Args:
        inches: the value in inches.
        decimals: round the result to this many decimals (None: no rounding).

    Returns:
        The value in centimetres.
    """
    result = inches * 2.54
    return result if decimals is None else round(result, decimals)
