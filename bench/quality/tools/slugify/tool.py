def slugify(title: str, separator: str = "-") -> str:
    """A URL slug of a title: lower-case words of letters and digits joined by a separator.

    Args:
        title: the title.
        separator: what joins the words.

    Returns:
        The slug ("" when the title has no letters or digits).
    """
    words = "".join(c.lower() if c.isalnum() else " " for c in title).split()
    return separator.join(words)
