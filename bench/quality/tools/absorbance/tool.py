def absorbance(molar_absorptivity: float, path_length_cm: float, concentration: float) -> float:
    """Absorbance from the Beer–Lambert law, A = ε·l·c.

    Args:
        molar_absorptivity: ε in L/(mol·cm).
        path_length_cm: path length in cm.
        concentration: concentration in mol/L.

    Returns:
        The absorbance (dimensionless).
    """
    return molar_absorptivity * path_length_cm * concentration
