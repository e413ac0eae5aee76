def mechanical_advantage(output_force: float, input_force: float) -> float:
    """Mechanical advantage of a machine.

    Args:
        output_force: load force in N.
        input_force: effort force in N.

    Returns:
        The ratio output / input.
    """
    return output_force / input_force
