def spring_energy(spring_constant: float, extension: float) -> float:
    """Elastic potential energy of an ideal spring, E = k·x² / 2.

    Args:
        spring_constant: stiffness in N/m.
        extension: displacement from rest in m.

    Returns:
        The energy in joules.
    """
    return 0.5 * spring_constant * extension ** 2
