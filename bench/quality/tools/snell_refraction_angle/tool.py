import math


def snell_refraction_angle(incidence_degrees: float, n1: float, n2: float) -> float:
    """Refraction angle from Snell's law, n1·sin(θ1) = n2·sin(θ2).

    Args:
        incidence_degrees: angle of incidence in degrees.
        n1: refractive index of the first medium.
        n2: refractive index of the second medium.

    Returns:
        The refraction angle in degrees.

    Raises:
        ValueError: on total internal reflection.
    """
    s = n1 * math.sin(math.radians(incidence_degrees)) / n2
    if abs(s) > 1:
        raise ValueError("total internal reflection")
    return math.degrees(math.asin(s))
