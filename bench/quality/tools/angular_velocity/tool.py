import math


def angular_velocity(rpm: float) -> float:
    """Angular velocity in rad/s from revolutions per minute.

    Args:
        rpm: rotation rate in rev/min.

    Returns:
        The angular velocity in rad/s.
    """
    return rpm * 2 * math.pi / 60.0
