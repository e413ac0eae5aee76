import re

_UNITS = {"B": 1, "KB": 1000, "MB": 1000**2, "GB": 1000**3, "TB": 1000**4,
          "KIB": 1024, "MIB": 1024**2, "GIB": 1024**3, "TIB": 1024**4}


def parse_size_bytes(text: str) -> int:
    """Bytes in a size such as "1.5 GB", "512KiB" or "20B" (decimal and binary units).

    Args:
        text: a number and a unit.

    Returns:
        The size in bytes, rounded down.

    Raises:
        ValueError: when the text is not a size.
    """
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-z]+)\s*", text)
    if not match or match.group(2).upper() not in _UNITS:
        raise ValueError(f"not a size: {text!r}")
    return int(float(match.group(1)) * _UNITS[match.group(2).upper()])
