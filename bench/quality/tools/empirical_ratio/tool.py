def empirical_ratio(moles: dict[str, float]) -> dict[str, float]:
    """Mole ratios of elements relative to the smallest amount.

    Args:
        moles: element -> amount in mol.

    Returns:
        Element -> amount divided by the smallest amount, rounded to 0.01.

    Raises:
        ValueError: when there are no elements or an amount is not positive.
    """
    if not moles or min(moles.values()) <= 0:
        raise ValueError("need positive amounts")
    smallest = min(moles.values())
    return {element: round(amount / smallest, 2) for element, amount in moles.items()}
