def capacitor_energy(capacitance: float, voltage: float) -> float:
    """Energy stored in a capacitor, E = C·V² / 2.

    Args:
        capacitance: capacitance in farads.
        voltage: voltage across it in volts.

    Returns:
        The energy in joules.
    """
    return 0.5 * capacitance * voltage ** 2
