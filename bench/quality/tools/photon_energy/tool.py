def photon_energy(wavelength_nm: float) -> float:
    """Energy of a photon from its wavelength.

    Args:
        wavelength_nm: wavelength in nanometres.

    Returns:
        The energy in electronvolts.
    """
    planck = 6.62607015e-34
    light = 299792458.0
    charge = 1.602176634e-19
    return planck * light / (wavelength_nm * 1e-9) / charge
