_KILOPASCALS_PER_UNIT = 0.133322387415


def mmhg_to_kpa(mmhg: float) -> float:
    """Convert a pressure in mmHg to kPa.

    Args:
        mmhg: the value in millimetres of mercury.

    Returns:
        The value in kilopascals.
    """
    return mmhg * _KILOPASCALS_PER_UNIT
