import re


def money_to_cents(text: str) -> int:
    """Cents in an amount such as "$1,234.56" or "-12.5".

    Args:
        text: an optional sign, an optional "$", digits with optional thousands
            commas, optional cents.

    Returns:
        The amount in cents.

    Raises:
        ValueError: when the text is not an amount.
    """
    match = re.fullmatch(r"\s*(-)?\$?(\d{1,3}(?:,\d{3})*|\d+)(?:\.(\d{1,2}))?\s*", text)
    if not match:
        raise ValueError(f"not an amount: {text!r}")
    sign, whole, cents = match.groups()
    value = int(whole.replace(",", "")) * 100 + int((cents or "0").ljust(2, "0"))
    return -value if sign else value
