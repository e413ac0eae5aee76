def linear_interpolate(x0: float, y0: float, x1: float, y1: float, x: float) -> float:
    """Value at x on the straight line through (x0, y0) and (x1, y1).

    Args:
        x0: first point's x.
        y0: first point's y.
        x1: second point's x (different from x0).
        y1: second point's y.
        x: where to evaluate.

    Returns:
        The interpolated y.
    """
    return y0 + (y1 - y0) * (x - x0) / (x1 - x0)
