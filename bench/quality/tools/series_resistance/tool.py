def series_resistance(resistances: list[float]) -> float:
    """Total resistance of resistors in series.

    Args:
        resistances: the resistances in ohms.

    Returns:
        Their sum in ohms (0 for no resistors).
    """
    return float(sum(resistances))
