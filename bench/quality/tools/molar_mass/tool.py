_ATOMIC_MASS = {
    "H": 1.008, "He": 4.0026, "Li": 6.94, "C": 12.011, "N": 14.007, "O": 15.999,
    "F": 18.998, "Na": 22.99, "Mg": 24.305, "Al": 26.982, "Si": 28.085, "P": 30.974,
    "S": 32.06, "Cl": 35.45, "K": 39.098, "Ca": 40.078, "Fe": 55.845, "Cu": 63.546,
    "Zn": 65.38, "Br": 79.904, "Ag": 107.87, "I": 126.9, "Au": 196.97,
}


def molar_mass(formula: str) -> float:
    """Molar mass of a chemical formula such as "H2O" or "C6H12O6" (no brackets).

    Args:
        formula: element symbols each followed by an optional count.

    Returns:
        The molar mass in g/mol.

    Raises:
        ValueError: for an empty formula, an unknown element or stray characters.
    """
    import re

    if not formula or not re.fullmatch(r"(?:[A-Z][a-z]?\d*)+", formula):
        raise ValueError(f"not a formula: {formula!r}")
    total = 0.0
    for symbol, count in re.findall(r"([A-Z][a-z]?)(\d*)", formula):
        if symbol not in _ATOMIC_MASS:
            raise ValueError(f"unknown element {symbol!r}")
        total += _ATOMIC_MASS[symbol] * (int(count) if count else 1)
    return total
