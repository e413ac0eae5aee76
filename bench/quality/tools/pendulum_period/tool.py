import math


def pendulum_period(length: float, gravity: float = 9.80665) -> float:
    """Period of a simple pendulum (small-angle approximation).

    Args:
        length (> 0): length of the pendulum in m.
        gravity (> 0): gravitational acceleration in m/s².

    Returns:
        The period in seconds.
    """
    return 2 * math.pi * math.sqrt(length / gravity)
