def displacement(initial_velocity: float, acceleration: float, duration: float) -> float:
    """Displacement under constant acceleration, s = v0·t + a·t²/2.

    Args:
        initial_velocity: starting velocity in m/s.
        acceleration: acceleration in m/s².
        duration: time in s.

    Returns:
        The displacement in m.
    """
    return initial_velocity * duration + 0.5 * acceleration * duration ** 2
