def light_years_to_km(light_years: float) -> float:
    """Convert light-years to kilometres.

    Args:
        light_years: the value in light-years.

    Returns:
        The value in kilometres.
    """
    return light_years * 9460730472580.8
