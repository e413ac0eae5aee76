def boiling_point_elevation(molality: float, ebullioscopic_constant: float = 0.512,
                            van_t_hoff: float = 1.0) -> float:
    """Boiling point elevation of a solution, ΔT = i·Kb·m.

    Args:
        molality: solute molality in mol/kg.
        ebullioscopic_constant: Kb of the solvent in K·kg/mol (water: 0.512).
        van_t_hoff: van 't Hoff factor i.

    Returns:
        The elevation in K.
    """
    return van_t_hoff * ebullioscopic_constant * molality
