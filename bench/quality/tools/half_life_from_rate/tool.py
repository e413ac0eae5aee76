def half_life_from_rate(rate_constant: float) -> float:
    """Half-life of a first-order reaction.

    Args:
        rate_constant (> 0): rate constant in 1/s.

    Returns:
        The half-life in s.
    """
    import math
    return math.log(2) / rate_constant
