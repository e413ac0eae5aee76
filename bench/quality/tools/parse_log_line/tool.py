import re


def parse_log_line(line: str) -> dict[str, str]:
    """Parse a log line "2024-05-01 12:00:03 [ERROR] disk full" into its fields.

    Args:
        line: date, time, a level in brackets, and a message.

    Returns:
        {"date", "time", "level", "message"}.

    Raises:
        ValueError: when the line does not have that shape.
    """
    match = re.fullmatch(r"(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}) \[(\w+)\] (.*)",
                         line.strip())
    if not match:
        raise ValueError(f"not a log line: {line!r}")
    date, time, level, message = match.groups()
    return {"date": date, "time": time, "level": level, "message": message}
