import math


def orbital_period(semi_major_axis: float, central_mass: float) -> float:
    """Period of a Keplerian orbit around a much heavier body.

    Args:
        semi_major_axis: semi-major axis in m.
        central_mass: mass of the central body in kg.

    Returns:
        The orbital period in seconds.
    """
    return 2 * math.pi * math.sqrt(semi_major_axis ** 3 / (6.67430e-11 * central_mass))
