def fluid_ounces_to_ml(fl_oz: float) -> float:
    """Convert US fluid ounces to millilitres.

    Args:
        fl_oz: the value in US fluid ounces.

    Returns:
        The value in millilitres.
    """
    return fl_oz * 29.5735295625
