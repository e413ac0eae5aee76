import math


def lorentz_factor(velocity: float) -> float:
    """Lorentz factor γ of a body moving at a speed below the speed of light.

    Args:
        velocity: speed in m/s.

    Returns:
        γ (dimensionless, at least 1).

    Raises:
        ValueError: when the speed is not below the speed of light.
    """
    c = 299792458.0
    if abs(velocity) >= c:
        raise ValueError("speed must be below the speed of light")
    return 1.0 / math.sqrt(1.0 - (velocity / c) ** 2)
