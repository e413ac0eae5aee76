import math


def escape_velocity(mass: float, radius: float) -> float:
    """Escape velocity from the surface of a spherical body.

    Args:
        mass: the body's mass in kg.
        radius: its radius in m.

    Returns:
        The escape velocity in m/s.
    """
    return math.sqrt(2 * 6.67430e-11 * mass / radius)
