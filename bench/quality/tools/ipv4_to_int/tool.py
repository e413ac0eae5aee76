def ipv4_to_int(address: str) -> int:
    """The 32-bit integer of a dotted IPv4 address.

    Args:
        address: "a.b.c.d", each part 0-255.

    Returns:
        The address as an integer.

    Raises:
        ValueError: when the text is not an IPv4 address.
    """
    parts = address.strip().split(".")
    if len(parts) != 4 or not all(p.isdigit() and int(p) <= 255 for p in parts):
        raise ValueError(f"not an IPv4 address: {address!r}")
    value = 0
    for part in parts:
        value = value * 256 + int(part)
    return value
