def impulse(force: float, duration: float) -> float:
    """Impulse of a constant force, J = F·Δt.

    Args:
        force: force in N.
        duration: time the force acts in s.

    Returns:
        The impulse in N·s.
    """
    return force * duration
