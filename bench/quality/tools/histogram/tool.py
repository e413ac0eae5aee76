def histogram(values: list[float], bin_width: float) -> dict[str, int]:
    """Count values per bin of a fixed width, keyed by the bin's lower edge.

    Args:
        values: the numbers.
        bin_width (> 0): width of each bin.

    Returns:
        lower edge (as text, e.g. "10.0") -> count, for non-empty bins.
    """
    import math

    counts: dict[str, int] = {}
    for v in values:
        edge = math.floor(v / bin_width) * bin_width
        key = str(float(edge))
        counts[key] = counts.get(key, 0) + 1
    return counts
