from urllib.parse import parse_qsl


def parse_query(query: str) -> dict[str, str]:
    """Parse a URL query string such as "a=1&b=hello%20world" (a leading "?" is fine).

    Args:
        query: the query string.

    Returns:
        name -> decoded value (the last one wins).
    """
    return dict(parse_qsl(query.lstrip("?"), keep_blank_values=True))
