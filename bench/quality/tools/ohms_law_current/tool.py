def ohms_law_current(voltage: float, resistance: float) -> float:
    """Current through a resistor (Ohm's law, I = V / R).

    Args:
        voltage: voltage in volts.
        resistance: resistance in ohms.

    Returns:
        The current in amperes.
    """
    return voltage / resistance
