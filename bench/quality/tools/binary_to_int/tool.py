def binary_to_int(bits: str) -> int:
    """Value of a binary number such as "1011" (an optional "0b" prefix is allowed).

    Args:
        bits: the binary digits.

    Returns:
        Its value.

    Raises:
        ValueError: when the text is not binary.
    """
    text = bits.strip().lower()
    if text.startswith("0b"):
        text = text[2:]
    if not text or any(c not in "01" for c in text):
        raise ValueError(f"not a binary number: {bits!r}")
    return int(text, 2)
