import math


def decay_constant(half_life: float) -> float:
    """Decay constant λ from a half-life.

    Args:
        half_life (> 0): the half-life in seconds.

    Returns:
        λ in 1/s.
    """
    return math.log(2) / half_life
