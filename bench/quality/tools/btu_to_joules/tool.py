def btu_to_joules(btu: float) -> float:
    """Convert BTU to joules.

    Args:
        btu: the value in British thermal units.

    Returns:
        The value in joules.
    """
    return btu * 1055.05585262
