_ROMAN = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100, "D": 500, "M": 1000}


def roman_to_int(numeral: str) -> int:
    """Value of a Roman numeral such as "MCMXCIV".

    Args:
        numeral: the numeral, upper or lower case.

    Returns:
        Its value.

    Raises:
        ValueError: when it contains anything but Roman digits, or is empty.
    """
    text = numeral.strip().upper()
    if not text or any(c not in _ROMAN for c in text):
        raise ValueError(f"not a Roman numeral: {numeral!r}")
    total = 0
    for i, char in enumerate(text):
        value = _ROMAN[char]
        if i + 1 < len(text) and _ROMAN[text[i + 1]] > value:
            total -= value
        else:
            total += value
    return total
