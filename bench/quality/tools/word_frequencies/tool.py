import re


def word_frequencies(text: str) -> dict[str, int]:
    """How often each word occurs, case-insensitively.

    Args:
        text: any text; words are runs of letters, digits and apostrophes.

    Returns:
        lower-cased word -> count.
    """
    counts: dict[str, int] = {}
    for word in re.findall(r"[\w']+", text.lower()):
        counts[word] = counts.get(word, 0) + 1
    return counts
