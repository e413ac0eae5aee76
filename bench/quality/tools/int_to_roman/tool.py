def int_to_roman(number: int) -> str:
    """Roman numeral of a number from 1 to 3999.

    Args:
        number (1 <= n <= 3999): the number.

    Returns:
        The numeral in upper case.
    """
    table = [(1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"),
             (50, "L"), (40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I")]
    out = []
    for value, letters in table:
        while number >= value:
            out.append(letters)
            number -= value
    return "".join(out)
