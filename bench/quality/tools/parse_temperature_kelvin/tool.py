import re


def parse_temperature_kelvin(text: str) -> float:
    """Parse a temperature such as "25.5C", "-40 F" or "300K" into kelvin.

    Args:
        text: a number followed by C, F or K (case-insensitive).

    Returns:
        The temperature in kelvin.

    Raises:
        ValueError: when the text is not a temperature.
    """
    match = re.fullmatch(r"\s*(-?\d+(?:\.\d+)?)\s*([CFKcfk])\s*", text)
    if not match:
        raise ValueError(f"not a temperature: {text!r}")
    value, unit = float(match.group(1)), match.group(2).upper()
    if unit == "C":
        return value + 273.15
    if unit == "F":
        return (value - 32.0) * 5.0 / 9.0 + 273.15
    return value
