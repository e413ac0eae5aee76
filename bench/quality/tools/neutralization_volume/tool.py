def neutralization_volume(acid_molarity: float, acid_volume: float, base_molarity: float,
                          acid_protons: int = 1) -> float:
    """Volume of a monobasic base that neutralises an acid.

    Args:
        acid_molarity: acid concentration in mol/L.
        acid_volume: acid volume in mL.
        base_molarity: base concentration in mol/L.
        acid_protons: acidic protons per acid molecule.

    Returns:
        The base volume in mL.
    """
    return acid_molarity * acid_volume * acid_protons / base_molarity
