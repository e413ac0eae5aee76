import math


def ph_from_hydronium(concentration: float) -> float:
    """pH of a solution from its hydronium ion concentration.

    Args:
        concentration: [H3O+] in mol/L.

    Returns:
        The pH.

    Raises:
        ValueError: when the concentration is not positive.
    """
    if concentration <= 0:
        raise ValueError("concentration must be positive")
    return -math.log10(concentration)
