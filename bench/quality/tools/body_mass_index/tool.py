def body_mass_index(weight_kg: float, height_m: float) -> float:
    """Body mass index, rounded to one decimal.

    Args:
        weight_kg: weight in kilograms.
        height_m: height in metres.

    Returns:
        The BMI in kg/m², rounded to 0.1.
    """
    return round(weight_kg / height_m ** 2, 1)
