def count_sentences(text: str) -> int:
    """Number of sentences: runs of text ended by ".", "!" or "?" (or the end).

    Args:
        text: any text.

    Returns:
        The number of non-empty sentences.
    """
    import re
    return len([s for s in re.split(r"[.!?]+", text) if s.strip()])
