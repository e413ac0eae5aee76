def momentum(mass: float, velocity: float) -> float:
    """Linear momentum p = m·v.

    Args:
        mass: mass in kg.
        velocity: velocity in m/s.

    Returns:
        The momentum in kg·m/s.
    """
    return mass * velocity
