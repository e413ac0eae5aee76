def unique_sorted_words(text: str, min_length: int = 1) -> list[str]:
    """The distinct words of a text, lower-cased and sorted.

    Args:
        text: words separated by whitespace; punctuation at word ends is dropped.
        min_length: shortest word kept.

    Returns:
        The words in alphabetical order.
    """
    words = {w.strip(".,;:!?\"'()").lower() for w in text.split()}
    return sorted(w for w in words if len(w) >= min_length)
