_JOULES_PER_UNIT = 1.602176634e-19


def ev_to_joules(ev: float) -> float:
    """Convert electronvolts to joules.

    Args:
        ev: the value in electronvolts.

    Returns:
        The value in joules.
    """
    return ev * _JOULES_PER_UNIT
