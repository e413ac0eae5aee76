def luhn_valid(number: str) -> bool:
    """Whether a card number passes the Luhn checksum (spaces ignored).

    Args:
        number: the digits.

    Returns:
        True when valid; False for no digits or any other character.
    """
    digits = number.replace(" ", "")
    if not digits.isdigit():
        return False
    total = 0
    for i, d in enumerate(reversed(digits)):
        n = int(d)
        if i % 2 == 1:
            n = n * 2 - 9 if n * 2 > 9 else n * 2
        total += n
    return total % 10 == 0
