def potential_energy(mass: float, height: float, gravity: float = 9.80665) -> float:
    """Gravitational potential energy near a planet's surface.

    Args:
        mass: mass in kg.
        height: height above the reference level in m.
        gravity: gravitational acceleration in m/s².

    Returns:
        The potential energy in joules.
    """
    return mass * gravity * height
