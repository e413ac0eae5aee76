def triangle_area(a: float, b: float, c: float) -> float:
    """Area of a triangle from its three sides (Heron's formula).

    Args:
        a: first side.
        b: second side.
        c: third side.

    Returns:
        The area.

    Raises:
        ValueError: when the sides do not form a triangle.
    """
    import math

    s = (a + b + c) / 2
    product = s * (s - a) * (s - b) * (s - c)
    if min(a, b, c) <= 0 or product < 0:
        raise ValueError("not a triangle")
    return math.sqrt(product)
