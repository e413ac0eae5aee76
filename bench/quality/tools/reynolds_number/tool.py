def reynolds_number(density: float, velocity: float, length: float, viscosity: float) -> float:
    """Reynolds number of a flow.

    Args:
        density: fluid density in kg/m³.
        velocity: flow speed in m/s.
        length: characteristic length in m.
        viscosity: dynamic viscosity in Pa·s.

    Returns:
        The (dimensionless) Reynolds number.
    """
    return density * velocity * length / viscosity
