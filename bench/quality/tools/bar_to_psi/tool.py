def bar_to_psi(bar: float, decimals: int | None = None) -> float:
    """Convert a pressure in bar to psi.

    Args:
        bar: the value in bar.
        decimals: round the result to this many decimals (None: no rounding).

    Returns:
        The value in psi.
    """
    result = bar * 14.503773773
    return result if decimals is None else round(result, decimals)
