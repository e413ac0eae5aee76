import re


def parse_coordinates(text: str) -> list[float]:
    """Parse "40.7128N, 74.0060W" into signed decimal degrees [latitude, longitude].

    Args:
        text: latitude with N/S, a comma, longitude with E/W.

    Returns:
        [latitude, longitude], south and west negative.

    Raises:
        ValueError: when the text is not in that form or out of range.
    """
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([NS])\s*,\s*(\d+(?:\.\d+)?)\s*([EW])\s*",
                         text.upper())
    if not match:
        raise ValueError(f"not coordinates: {text!r}")
    lat, ns, lon, ew = match.groups()
    latitude = float(lat) * (-1 if ns == "S" else 1)
    longitude = float(lon) * (-1 if ew == "W" else 1)
    if abs(latitude) > 90 or abs(longitude) > 180:
        raise ValueError("coordinates out of range")
    return [latitude, longitude]
