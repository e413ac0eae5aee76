def ideal_gas_pressure(moles: float, temperature_k: float, volume_m3: float) -> float:
    """Pressure of an ideal gas, P = nRT / V.

    Args:
        moles: amount of gas in mol.
        temperature_k: temperature in K.
        volume_m3: volume in m³.

    Returns:
        The pressure in pascals.
    """
    r = 8.314462618
    return moles * r * temperature_k / volume_m3
