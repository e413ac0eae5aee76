_PASCALS_PER_UNIT = 133.32236842105263


def torr_to_pa(torr: float) -> float:
    """Convert torr to pascals.

    Args:
        torr: the value in torr.

    Returns:
        The value in pascals.
    """
    return torr * _PASCALS_PER_UNIT
