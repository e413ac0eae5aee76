import math


def free_fall_time(height: float, gravity: float = 9.80665) -> float:
    """Time for an object to fall from rest through a height, without air resistance.

    Args:
        height: drop height in m.
        gravity: gravitational acceleration in m/s².

    Returns:
        The fall time in seconds.
    """
    return math.sqrt(2 * height / gravity)
