def density(mass: float, volume: float) -> float:
    """Density of a body from its mass and volume.

    Args:
        mass: mass in kg.
        volume: volume in m³.

    Returns:
        The density in kg/m³.
    """
    return mass / volume
