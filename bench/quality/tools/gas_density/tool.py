def gas_density(molar_mass: float, pressure_pa: float, temperature_k: float) -> float:
    """Density of an ideal gas, ρ = P·M / (R·T).

    Args:
        molar_mass: molar mass in kg/mol.
        pressure_pa: pressure in Pa.
        temperature_k: temperature in K.

    Returns:
        The density in kg/m³.
    """
    return pressure_pa * molar_mass / (8.314462618 * temperature_k)
