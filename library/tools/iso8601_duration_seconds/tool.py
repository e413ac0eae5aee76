import re

_DURATION = re.compile(
    r"P(?:(?P<weeks>\d+(?:[.,]\d+)?)W)?"
    r"(?:(?P<days>\d+(?:[.,]\d+)?)D)?"
    r"(?:T(?:(?P<hours>\d+(?:[.,]\d+)?)H)?"
    r"(?:(?P<minutes>\d+(?:[.,]\d+)?)M)?"
    r"(?:(?P<seconds>\d+(?:[.,]\d+)?)S)?)?"
)
_FACTORS = {"weeks": 604800, "days": 86400, "hours": 3600, "minutes": 60, "seconds": 1}


def iso8601_duration_seconds(duration: str) -> float:
    """Convert an ISO-8601 duration such as "PT1H30M" or "P2DT3.5S" to seconds.

    Years and months are refused because their length in seconds is ambiguous.

    Args:
        duration: the duration, e.g. "PT15M", "P1W", "P1DT12H", "-PT5S".

    Returns:
        The duration in seconds (negative when the duration starts with "-").

    Raises:
        ValueError: when the text is not a supported ISO-8601 duration.
    """
    text = duration.strip().upper()
    sign = 1.0
    if text.startswith("-"):
        sign, text = -1.0, text[1:]
    match = _DURATION.fullmatch(text)
    if not match or text in ("P", "PT") or text.endswith("T"):
        raise ValueError(f"not an ISO-8601 duration (weeks to seconds): {duration!r}")
    total = 0.0
    for unit, factor in _FACTORS.items():
        value = match.group(unit)
        if value is not None:
            total += float(value.replace(",", ".")) * factor
    return sign * total
