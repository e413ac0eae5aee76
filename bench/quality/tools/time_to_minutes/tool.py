def time_to_minutes(text: str) -> int:
    """Minutes since midnight of a 24-hour time such as "13:45".

    Args:
        text: HH:MM.

    Returns:
        hours * 60 + minutes.

    Raises:
        ValueError: when the text is not a valid time.
    """
    parts = text.strip().split(":")
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        raise ValueError(f"not a time: {text!r}")
    hours, minutes = int(parts[0]), int(parts[1])
    if hours > 23 or minutes > 59:
        raise ValueError(f"not a time: {text!r}")
    return hours * 60 + minutes
