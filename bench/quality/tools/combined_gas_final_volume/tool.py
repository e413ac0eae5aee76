def combined_gas_final_volume(p1: float, v1: float, t1: float, p2: float, t2: float) -> float:
    """Final volume from the combined gas law, P1·V1/T1 = P2·V2/T2.

    Args:
        p1: initial pressure.
        v1: initial volume.
        t1: initial temperature in K.
        p2: final pressure, unit of p1.
        t2: final temperature in K.

    Returns:
        The final volume, in the unit of v1.
    """
    return p1 * v1 * t2 / (t1 * p2)
