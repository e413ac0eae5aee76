def gravitational_force(mass1: float, mass2: float, distance: float) -> float:
    """Newtonian gravitational attraction between two point masses.

    Args:
        mass1: first mass in kg.
        mass2: second mass in kg.
        distance: distance between their centres in m.

    Returns:
        The force in newtons.
    """
    g = 6.67430e-11
    return g * mass1 * mass2 / distance ** 2
