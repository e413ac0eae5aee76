def furlongs_to_meters(furlongs: float, decimals: int | None = None) -> float:
    """Convert furlongs to metres.

    Args:
        furlongs: the value in furlongs.
        decimals: round the result to this many decimals (None: no rounding).

    Returns:
        The value in metres.
    """
    result = furlongs * 201.168
    return result if decimals is None else round(result, decimals)
