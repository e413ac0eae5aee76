def moles_from_mass(mass_g: float, molar_mass: float) -> float:
    """Amount of substance from a mass.

    Args:
        mass_g: mass in grams.
        molar_mass: molar mass in g/mol.

    Returns:
        The amount in mol.
    """
    return mass_g / molar_mass
