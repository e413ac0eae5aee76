def parse_key_values(text: str, separator: str = ";") -> dict[str, str]:
    """Parse "a=1; b=two" into a mapping; whitespace around keys and values is dropped.

    Args:
        text: pairs key=value separated by `separator`.
        separator: what separates the pairs.

    Returns:
        key -> value (a later key wins).

    Raises:
        ValueError: when a non-empty pair has no "=" or an empty key.
    """
    result: dict[str, str] = {}
    for pair in text.split(separator):
        if not pair.strip():
            continue
        if "=" not in pair:
            raise ValueError(f"pair without '=': {pair!r}")
        key, value = pair.split("=", 1)
        if not key.strip():
            raise ValueError("empty key")
        result[key.strip()] = value.strip()
    return result
