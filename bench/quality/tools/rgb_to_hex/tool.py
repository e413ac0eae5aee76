def rgb_to_hex(red: int, green: int, blue: int) -> str:
    """Hex colour of RGB components.

    Args:
        red (0 <= r <= 255): red component.
        green (0 <= g <= 255): green component.
        blue (0 <= b <= 255): blue component.

    Returns:
        "#rrggbb" in lower case.
    """
    return f"#{red:02x}{green:02x}{blue:02x}"
