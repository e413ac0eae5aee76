def electrical_power(voltage: float, current: float) -> float:
    """Electrical power P = V·I.

    Args:
        voltage: voltage in V.
        current: current in A.

    Returns:
        The power in W.
    """
    return voltage * current
