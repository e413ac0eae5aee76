import re


def dms_to_decimal(text: str) -> float:
    """Decimal degrees of an angle written as 40°26'46" (seconds optional).

    Args:
        text: degrees, minutes and seconds with the °, ' and " marks.

    Returns:
        The angle in decimal degrees.

    Raises:
        ValueError: when the text is not in that form.
    """
    match = re.fullmatch(r"\s*(\d+)°\s*(\d+)'\s*(?:(\d+(?:\.\d+)?)\")?\s*", text)
    if not match:
        raise ValueError(f"not a DMS angle: {text!r}")
    degrees, minutes, seconds = match.groups()
    if int(minutes) >= 60 or (seconds and float(seconds) >= 60):
        raise ValueError("minutes and seconds must be below 60")
    return int(degrees) + int(minutes) / 60 + float(seconds or 0) / 3600
