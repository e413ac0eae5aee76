def feet_to_meters(feet: float) -> float:
    """Convert a length in feet to metres.

    Args:
        feet: the value in feet.

    Returns:
        The value in metres.
    """
    return feet * 0.3048
