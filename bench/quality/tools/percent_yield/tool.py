def percent_yield(actual: float, theoretical: float) -> float:
    """Percent yield of a reaction, rounded to two decimals.

    Args:
        actual: actual yield.
        theoretical: theoretical yield, same unit.

    Returns:
        100·actual/theoretical, rounded to 0.01.
    """
    return round(100.0 * actual / theoretical, 2)
