def molarity(moles: float, volume_liters: float) -> float:
    """Molar concentration of a solution.

    Args:
        moles: amount of solute in mol.
        volume_liters: volume of solution in L.

    Returns:
        The concentration in mol/L.
    """
    return moles / volume_liters
