import math


def cylinder_volume(radius: float, height: float) -> float:
    """Volume of a right circular cylinder.

    Args:
        radius: radius of the base.
        height: height.

    Returns:
        π·r²·h.
    """
    return math.pi * radius ** 2 * height
