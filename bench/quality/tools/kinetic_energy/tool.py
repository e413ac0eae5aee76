def kinetic_energy(mass: float, velocity: float) -> float:
    """Kinetic energy of a moving body.

    Args:
        mass: mass in kg.
        velocity: speed in m/s.

    Returns:
        The kinetic energy in joules.
    """
    return 0.5 * mass * velocity ** 2
