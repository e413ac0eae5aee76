def heat_energy(mass: float, specific_heat: float, delta_t: float) -> float:
    """Heat needed to change a body's temperature, Q = m·c·ΔT.

    Args:
        mass: mass in kg.
        specific_heat: specific heat capacity in J/(kg·K).
        delta_t: temperature change in K.

    Returns:
        The heat in joules.
    """
    return mass * specific_heat * delta_t
