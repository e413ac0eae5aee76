def compass_direction(degrees: float) -> str:
    """Eight-point compass direction of a bearing.

    Args:
        degrees: bearing in degrees, 0 = north, clockwise (any value; taken modulo 360).

    Returns:
        One of N, NE, E, SE, S, SW, W, NW.
    """
    points = ["N", "NE", "E", "SE", "S", "SW", "W", "NW"]
    return points[int(((degrees % 360) + 22.5) // 45) % 8]
