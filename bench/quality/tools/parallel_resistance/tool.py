def parallel_resistance(resistances: list[float]) -> float:
    """Total resistance of resistors in parallel.

    Args:
        resistances: the resistances in ohms, each positive.

    Returns:
        The equivalent resistance in ohms.

    Raises:
        ValueError: when the list is empty or a resistance is not positive.
    """
    if not resistances:
        raise ValueError("no resistors")
    if any(r <= 0 for r in resistances):
        raise ValueError("resistances must be positive")
    return 1.0 / sum(1.0 / r for r in resistances)
