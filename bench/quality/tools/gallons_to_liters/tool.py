def gallons_to_liters(gallons: float) -> float:
    """Convert US gallons to litres.

    Args:
        gallons: the value in US gallons.

    Returns:
        The value in litres.
    """
    return gallons * 3.785411784
