def buoyant_force(fluid_density: float, displaced_volume: float,
                  gravity: float = 9.80665) -> float:
    """Buoyant force on a submerged body (Archimedes).

    Args:
        fluid_density: density of the fluid in kg/m³.
        displaced_volume: displaced volume in m³.
        gravity: gravitational acceleration in m/s².

    Returns:
        The force in newtons.
    """
    return fluid_density * displaced_volume * gravity
