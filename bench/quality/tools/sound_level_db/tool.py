import math


def sound_level_db(intensity: float, reference: float = 1e-12) -> float:
    """Sound intensity level in decibels.

    Args:
        intensity (> 0): sound intensity in W/m².
        reference (> 0): reference intensity in W/m².

    Returns:
        The level in dB.
    """
    return 10.0 * math.log10(intensity / reference)
