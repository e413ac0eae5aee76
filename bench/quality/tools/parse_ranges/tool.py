def parse_ranges(text: str) -> list[int]:
    """Expand "1-3,7,10-12" into [1, 2, 3, 7, 10, 11, 12] (sorted, without duplicates).

    Args:
        text: numbers and inclusive ranges separated by commas.

    Returns:
        The numbers in increasing order.

    Raises:
        ValueError: for malformed parts or a range that runs backwards.
    """
    numbers: set[int] = set()
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        if "-" in part:
            start, end = (int(x) for x in part.split("-", 1))
            if end < start:
                raise ValueError(f"backwards range {part!r}")
            numbers.update(range(start, end + 1))
        else:
            numbers.add(int(part))
    return sorted(numbers)
