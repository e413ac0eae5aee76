def remaining_after_decay(initial: float, half_life: float, elapsed: float) -> float:
    """Amount of a radioactive substance left after some time.

    Args:
        initial: initial amount (any unit).
        half_life: half-life, in the same time unit as elapsed.
        elapsed: time elapsed.

    Returns:
        The remaining amount, in the unit of initial.
    """
    return initial * 0.5 ** (elapsed / half_life)
