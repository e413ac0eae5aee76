_KILOGRAMS_PER_UNIT = 6.35029318


def stones_to_kg(stones: float) -> float:
    """Convert a mass in stones to kilograms.

    Args:
        stones: the value in stones.

    Returns:
        The value in kilograms.
    """
    return stones * _KILOGRAMS_PER_UNIT
