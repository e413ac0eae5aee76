def projectile_range(speed: float, angle_degrees: float, gravity: float = 9.80665) -> float:
    """Horizontal range of a projectile on level ground, without air resistance.

    Args:
        speed: launch speed in m/s.
        angle_degrees: launch angle above the horizontal, in degrees.
        gravity: gravitational acceleration in m/s².

    Returns:
        The range in metres.
    """
    import math
    return speed ** 2 * math.sin(2 * math.radians(angle_degrees)) / gravity
