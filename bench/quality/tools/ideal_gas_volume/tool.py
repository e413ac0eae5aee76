def ideal_gas_volume(moles: float, temperature_k: float, pressure_pa: float) -> float:
    """Volume of an ideal gas, V = nRT / P.

    Args:
        moles: amount of gas in mol.
        temperature_k: temperature in K.
        pressure_pa: pressure in Pa.

    Returns:
        The volume in m³.
    """
    return moles * 8.314462618 * temperature_k / pressure_pa
