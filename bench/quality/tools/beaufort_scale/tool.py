def beaufort_scale(wind_speed_ms: float) -> int:
    """Beaufort number of a wind speed.

    Args:
        wind_speed_ms (>= 0): wind speed in m/s.

    Returns:
        The Beaufort number, 0-12.
    """
    limits = [0.5, 1.6, 3.4, 5.5, 8.0, 10.8, 13.9, 17.2, 20.8, 24.5, 28.5, 32.7]
    for number, limit in enumerate(limits):
        if wind_speed_ms < limit:
            return number
    return 12
