from fractions import Fraction


def fraction_to_float(text: str) -> float:
    """Value of a fraction or mixed number such as "3/4" or "2 1/2".

    Args:
        text: "a/b" or "w a/b".

    Returns:
        The value.

    Raises:
        ValueError: when the text is not a fraction (or divides by zero).
    """
    parts = text.split()
    if len(parts) == 2:
        whole, frac = parts
        value = int(whole) + Fraction(frac)
    elif len(parts) == 1:
        value = Fraction(parts[0])
    else:
        raise ValueError(f"not a fraction: {text!r}")
    return float(value)
