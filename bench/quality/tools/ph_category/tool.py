def ph_category(ph: float) -> str:
    """Classify a pH as "acidic" (below 7), "neutral" (7) or "basic" (above 7).

    Args:
        ph (0 <= ph <= 14): the pH.

    Returns:
        The category.
    """
    if ph < 7.0:
        return "acidic"
    if ph > 7.0:
        return "basic"
    return "neutral"
