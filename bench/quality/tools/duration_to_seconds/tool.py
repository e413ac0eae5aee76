import re


def duration_to_seconds(text: str) -> int:
    """Seconds in a duration written like "1h30m", "45s" or "2h5m10s".

    Args:
        text: hours, minutes and seconds, each optional, in that order.

    Returns:
        The total number of seconds.

    Raises:
        ValueError: when the text is not such a duration.
    """
    match = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?", text.strip())
    if not match or not any(match.groups()):
        raise ValueError(f"not a duration: {text!r}")
    hours, minutes, seconds = (int(g) if g else 0 for g in match.groups())
    return hours * 3600 + minutes * 60 + seconds
