def centripetal_acceleration(velocity: float, radius: float) -> float:
    """Centripetal acceleration of uniform circular motion, a = v² / r.

    Args:
        velocity: tangential speed in m/s.
        radius: radius of the circle in m.

    Returns:
        The acceleration in m/s².
    """
    return velocity ** 2 / radius
