def net_force(mass: float, acceleration: float) -> float:
    """Newton's second law, F = m·a.

    Args:
        mass: mass in kg.
        acceleration: acceleration in m/s².

    Returns:
        The force in newtons.
    """
    return mass * acceleration
