def kmh_to_ms(kmh: float) -> float:
    """Convert a speed in km/h to m/s.

    Args:
        kmh: the value in kilometres per hour.

    Returns:
        The value in metres per second.
    """
    return kmh * 0.2777777777777778
