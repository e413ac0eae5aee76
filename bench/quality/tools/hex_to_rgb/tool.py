import re


def hex_to_rgb(color: str) -> list[int]:
    """RGB components of a hex colour such as "#ff8800" or "#f80".

    Args:
        color: "#" followed by 3 or 6 hex digits.

    Returns:
        [red, green, blue], each 0-255.

    Raises:
        ValueError: when the text is not a hex colour.
    """
    match = re.fullmatch(r"#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})", color.strip())
    if not match:
        raise ValueError(f"not a hex colour: {color!r}")
    digits = match.group(1)
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    return [int(digits[i:i + 2], 16) for i in (0, 2, 4)]
