def carats_to_grams(carats: float) -> float:
    """Convert metric carats to grams.

    Args:
        carats: the value in metric carats.

    Returns:
        The value in grams.
    """
    return carats * 0.2
