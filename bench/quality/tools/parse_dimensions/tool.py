def parse_dimensions(text: str) -> list[float]:
    """Parse "2.5x4x10" (or with "×" or " x ") into [2.5, 4.0, 10.0].

    Args:
        text: numbers separated by x or ×.

    Returns:
        The numbers.

    Raises:
        ValueError: when a part is not a number.
    """
    parts = text.lower().replace("×", "x").split("x")
    return [float(p) for p in parts]
