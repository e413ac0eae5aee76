def count_vowels(text: str) -> int:
    """Number of vowels (a, e, i, o, u, either case) in a text.

    Args:
        text: any text.

    Returns:
        The count.
    """
    return sum(1 for c in text.lower() if c in "aeiou")
