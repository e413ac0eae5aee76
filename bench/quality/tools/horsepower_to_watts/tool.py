def horsepower_to_watts(hp: float, decimals: int | None = None) -> float:
    """Convert mechanical horsepower to watts.

    Args:
        hp: the value in mechanical horsepower.
        decimals: round the result to this many decimals (None: no rounding).

    Returns:
        The value in watts.
    """
    result = hp * 745.69987158227
    return result if decimals is None else round(result, decimals)
