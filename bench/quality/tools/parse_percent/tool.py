def parse_percent(text: str) -> float:
    """A percentage such as "12.5%" as a fraction (0.125).

    Args:
        text: a number followed by "%".

    Returns:
        The fraction.

    Raises:
        ValueError: when the text is not a percentage.
    """
    stripped = text.strip()
    if not stripped.endswith("%"):
        raise ValueError(f"not a percentage: {text!r}")
    return float(stripped[:-1]) / 100.0
