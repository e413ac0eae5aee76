def work_done(force: float, distance: float, angle_degrees: float = 0.0) -> float:
    """Work done by a constant force along a straight displacement.

    Args:
        force: magnitude of the force in N.
        distance: displacement in m.
        angle_degrees: angle between force and displacement, in degrees.

    Returns:
        The work in joules.
    """
    import math
    return force * distance * math.cos(math.radians(angle_degrees))
