def mass_percent(solute_mass: float, solution_mass: float) -> float:
    """Mass percentage of a solute.

    Args:
        solute_mass: mass of solute.
        solution_mass: mass of the whole solution, same unit.

    Returns:
        The percentage.

    Raises:
        ValueError: when the solute is heavier than the solution.
    """
    if solute_mass > solution_mass:
        raise ValueError("solute heavier than the solution")
    return 100.0 * solute_mass / solution_mass
