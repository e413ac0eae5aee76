def dilution_volume(stock_concentration: float, target_concentration: float,
                    target_volume: float) -> float:
    """Volume of stock needed for a dilution (C1·V1 = C2·V2).

    Args:
        stock_concentration: concentration of the stock solution.
        target_concentration: wanted concentration, same unit.
        target_volume: wanted final volume.

    Returns:
        The stock volume, in the unit of target_volume.

    Raises:
        ValueError: when the target is more concentrated than the stock.
    """
    if target_concentration > stock_concentration:
        raise ValueError("cannot dilute to a higher concentration")
    return target_concentration * target_volume / stock_concentration
