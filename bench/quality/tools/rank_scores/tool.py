def rank_scores(scores: list[float]) -> list[int]:
    """Competition ranks (1 = highest; equal scores share a rank, "1224" style).

    Args:
        scores: the scores.

    Returns:
        The rank of each score, in input order.
    """
    return [1 + sum(1 for other in scores if other > s) for s in scores]
