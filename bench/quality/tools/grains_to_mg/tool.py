_MILLIGRAMS_PER_UNIT = 64.79891


def grains_to_mg(grains: float) -> float:
    """Convert grains to milligrams.

    Args:
        grains: the value in grains.

    Returns:
        The value in milligrams.
    """
    return grains * _MILLIGRAMS_PER_UNIT
