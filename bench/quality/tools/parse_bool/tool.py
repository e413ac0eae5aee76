_TRUE = {"true", "yes", "y", "1", "on"}
_FALSE = {"false", "no", "n", "0", "off"}


def parse_bool(text: str) -> bool:
    """Read a yes/no answer such as "Yes", "off" or "1".

    Args:
        text: the answer, case-insensitive.

    Returns:
        True or False.

    Raises:
        ValueError: for anything else.
    """
    value = text.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"not a yes/no value: {text!r}")
