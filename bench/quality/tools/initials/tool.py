def initials(name: str) -> str:
    """Initials of a name, upper-case, e.g. "Ada Lovelace" -> "AL".

    Args:
        name: words separated by spaces or hyphens.

    Returns:
        The first letter of each word, upper-cased ("" for an empty name).
    """
    return "".join(word[0].upper() for word in name.replace("-", " ").split())
