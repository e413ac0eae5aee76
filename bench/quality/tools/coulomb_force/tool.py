def coulomb_force(charge1: float, charge2: float, distance: float) -> float:
    """Electrostatic force between two point charges (positive: repulsive).

    Args:
        charge1: first charge in coulombs.
        charge2: second charge in coulombs.
        distance: separation in metres.

    Returns:
        The force in newtons.
    """
    k = 8.9875517923e9
    return k * charge1 * charge2 / distance ** 2
