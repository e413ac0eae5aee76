def doppler_frequency(source_hz: float, source_speed: float, observer_speed: float,
                      sound_speed: float = 343.0) -> float:
    """Observed frequency of a moving source and observer (positive speeds approach).

    Args:
        source_hz: emitted frequency in Hz.
        source_speed: speed of the source towards the observer in m/s.
        observer_speed: speed of the observer towards the source in m/s.
        sound_speed: speed of sound in the medium in m/s.

    Returns:
        The observed frequency in Hz.
    """
    return source_hz * (sound_speed + observer_speed) / (sound_speed - source_speed)
