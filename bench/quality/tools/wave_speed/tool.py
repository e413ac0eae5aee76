def wave_speed(frequency: float, wavelength: float) -> float:
    """Speed of a wave from its frequency and wavelength.

    Args:
        frequency: frequency in Hz.
        wavelength: wavelength in m.

    Returns:
        The speed in m/s.
    """
    return frequency * wavelength
