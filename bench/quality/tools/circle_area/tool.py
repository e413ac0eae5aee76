import math


def circle_area(radius: float) -> float:
    """Area of a circle.

    Args:
        radius (>= 0): the radius.

    Returns:
        π·r².
    """
    return math.pi * radius ** 2
