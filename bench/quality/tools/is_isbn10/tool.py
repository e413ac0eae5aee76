def is_isbn10(code: str) -> bool:
    """Whether a text is a valid ISBN-10 (hyphens and spaces ignored; X as last digit).

    Args:
        code: the ISBN.

    Returns:
        True when the check digit is right.
    """
    digits = code.replace("-", "").replace(" ", "").upper()
    if len(digits) != 10 or not digits[:9].isdigit() or not (digits[9].isdigit() or
                                                             digits[9] == "X"):
        return False
    total = sum((10 - i) * int(d) for i, d in enumerate(digits[:9]))
    total += 10 if digits[9] == "X" else int(digits[9])
    return total % 11 == 0
