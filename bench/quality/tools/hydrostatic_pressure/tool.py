def hydrostatic_pressure(depth: float, fluid_density: float = 1000.0,
                         surface_pressure: float = 101325.0) -> float:
    """Absolute pressure at a depth in a fluid at rest.

    Args:
        depth: depth below the surface in m.
        fluid_density: density of the fluid in kg/m³.
        surface_pressure: pressure at the surface in Pa.

    Returns:
        The pressure in Pa.
    """
    return surface_pressure + fluid_density * 9.80665 * depth
