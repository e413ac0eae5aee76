def first_order_remaining(initial: float, rate_constant: float, elapsed: float) -> float:
    """Concentration left after a first-order reaction ran for some time.

    Args:
        initial: initial concentration.
        rate_constant: rate constant in 1/s.
        elapsed: time in s.

    Returns:
        The remaining concentration, in the unit of initial.
    """
    import math
    return initial * math.exp(-rate_constant * elapsed)
