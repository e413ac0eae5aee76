def average_speed(distance: float, duration: float) -> float:
    """Average speed.

    Args:
        distance: distance covered in m.
        duration (> 0): time taken in s.

    Returns:
        The speed in m/s.
    """
    return distance / duration
