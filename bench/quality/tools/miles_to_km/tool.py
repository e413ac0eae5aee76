def miles_to_km(miles: float, decimals: int | None = None) -> float:
    """Convert a distance in miles to kilometres.

    Args:
        miles: the value in miles.
        decimals: round the result to this many decimals (None: no rounding).

    Returns:
        The value in kilometres.
    """
    result = miles * 1.609344
    return result if decimals is None else round(result, decimals)
