import math


def torque(force: float, lever_arm: float, angle_degrees: float = 90.0) -> float:
    """Torque from a force applied on a lever arm.

    Args:
        force: force in N.
        lever_arm: distance from the pivot in m.
        angle_degrees: angle between force and lever arm.

    Returns:
        The torque in N·m.
    """
    return force * lever_arm * math.sin(math.radians(angle_degrees))
