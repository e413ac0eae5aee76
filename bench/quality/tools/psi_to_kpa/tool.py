_KILOPASCALS_PER_UNIT = 6.894757293168


def psi_to_kpa(psi: float) -> float:
    """Convert a pressure in psi to kilopascals.

    Args:
        psi: the value in psi.

    Returns:
        The value in kilopascals.
    """
    return psi * _KILOPASCALS_PER_UNIT
