def atm_to_pa(atm: float) -> float:
    """Convert a pressure in atmospheres to pascals.

    Args:
        atm: the value in atmospheres.

    Returns:
        The value in pascals.
    """
    return atm * 101325.0
