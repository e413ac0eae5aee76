def efficiency_percent(useful_output: float, total_input: float) -> float:
    """Efficiency of a machine as a percentage.

    Args:
        useful_output: useful energy out.
        total_input: energy in, same unit.

    Returns:
        The efficiency in percent.

    Raises:
        ValueError: when the input energy is not positive.
    """
    if total_input <= 0:
        raise ValueError("input energy must be positive")
    return 100.0 * useful_output / total_input
