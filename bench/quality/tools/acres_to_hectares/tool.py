def acres_to_hectares(acres: float) -> float:
    """Convert an area in acres to hectares.

    Args:
        acres: the value in acres.

    Returns:
        The value in hectares.
    """
    return acres * 0.40468564224
