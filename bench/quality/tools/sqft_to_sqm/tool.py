def sqft_to_sqm(square_feet: float, decimals: int | None = None) -> float:
    """Convert square feet to square metres.

    Args:
        square_feet: the value in square feet.
        decimals: round the result to this many decimals (None: no rounding).

    Returns:
        The value in square metres.
    """
    result = square_feet * 0.09290304
    return result if decimals is None else round(result, decimals)
