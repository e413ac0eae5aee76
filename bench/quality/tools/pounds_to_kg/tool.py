def pounds_to_kg(pounds: float) -> float:
    """Convert a mass in pounds to kilograms.

    Args:
        pounds: the value in pounds.

    Returns:
        The value in kilograms.
    """
    return pounds * 0.45359237
