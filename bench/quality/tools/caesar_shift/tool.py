def caesar_shift(text: str, shift: int) -> str:
    """Shift ASCII letters through the alphabet (Caesar cipher); other characters stay.

    Args:
        text: the text.
        shift: how many places to shift (negative shifts back).

    Returns:
        The shifted text, case preserved.
    """
    out = []
    for c in text:
        if "a" <= c <= "z":
            out.append(chr((ord(c) - 97 + shift) % 26 + 97))
        elif "A" <= c <= "Z":
            out.append(chr((ord(c) - 65 + shift) % 26 + 65))
        else:
            out.append(c)
    return "".join(out)
