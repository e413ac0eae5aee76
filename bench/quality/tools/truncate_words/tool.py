def truncate_words(text: str, max_words: int, ellipsis: str = "...") -> str:
    """Keep the first words of a text, adding an ellipsis when something was cut.

    Args:
        text: the text.
        max_words (>= 0): how many words to keep.
        ellipsis: appended when words were dropped.

    Returns:
        The shortened text, words joined by single spaces.
    """
    words = text.split()
    if len(words) <= max_words:
        return " ".join(words)
    return " ".join(words[:max_words]) + ellipsis
