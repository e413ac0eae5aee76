def poh_from_ph(ph: float) -> float:
    """pOH of an aqueous solution at 25 °C.

    Args:
        ph (0 <= ph <= 14): the pH.

    Returns:
        The pOH.
    """
    return 14.0 - ph
