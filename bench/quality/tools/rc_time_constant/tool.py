def rc_time_constant(resistance: float, capacitance: float) -> float:
    """Time constant of an RC circuit, τ = R·C.

    Args:
        resistance: resistance in ohms.
        capacitance: capacitance in farads.

    Returns:
        The time constant in seconds.
    """
    return resistance * capacitance
