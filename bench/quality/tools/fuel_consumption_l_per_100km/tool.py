def fuel_consumption_l_per_100km(liters: float, kilometers: float) -> float:
    """Fuel consumption in litres per 100 km, rounded to 0.1.

    Args:
        liters: fuel used in L.
        kilometers: distance driven in km.

    Returns:
        L/100 km, rounded to one decimal.
    """
    return round(liters / kilometers * 100.0, 1)
