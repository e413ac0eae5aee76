def drag_force(density: float, velocity: float, drag_coefficient: float, area: float) -> float:
    """Aerodynamic drag, F = ½·ρ·v²·Cd·A.

    Args:
        density: air density in kg/m³.
        velocity: speed in m/s.
        drag_coefficient: dimensionless drag coefficient.
        area: reference area in m².

    Returns:
        The drag force in newtons.
    """
    return 0.5 * density * velocity ** 2 * drag_coefficient * area
