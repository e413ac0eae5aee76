import re


def element_counts(formula: str) -> dict[str, int]:
    """Count the atoms of each element in a formula without brackets, e.g. "CH3COOH".

    Args:
        formula: element symbols each followed by an optional count.

    Returns:
        Element symbol -> number of atoms.

    Raises:
        ValueError: when the text is not such a formula.
    """
    if not formula or not re.fullmatch(r"(?:[A-Z][a-z]?\d*)+", formula):
        raise ValueError(f"not a formula: {formula!r}")
    counts: dict[str, int] = {}
    for symbol, count in re.findall(r"([A-Z][a-z]?)(\d*)", formula):
        counts[symbol] = counts.get(symbol, 0) + (int(count) if count else 1)
    return counts
