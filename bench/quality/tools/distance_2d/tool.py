def distance_2d(x1: float, y1: float, x2: float, y2: float) -> float:
    """Euclidean distance between two points in a plane.

    Args:
        x1: first point's x.
        y1: first point's y.
        x2: second point's x.
        y2: second point's y.

    Returns:
        The distance.
    """
    import math
    return math.hypot(x2 - x1, y2 - y1)
