def dedupe_preserving_order(items: list[str]) -> list[str]:
    """The items without repeats, in order of first appearance.

    Args:
        items: the items.

    Returns:
        The distinct items.
    """
    seen: set[str] = set()
    out: list[str] = []
    for item in items:
        if item not in seen:
            seen.add(item)
            out.append(item)
    return out
