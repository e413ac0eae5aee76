def pressure_from_force(force: float, area: float) -> float:
    """Pressure exerted by a force spread over an area.

    Args:
        force: force in newtons.
        area: area in m².

    Returns:
        The pressure in pascals.

    Raises:
        ValueError: when the area is not positive.
    """
    if area <= 0:
        raise ValueError("area must be positive")
    return force / area
