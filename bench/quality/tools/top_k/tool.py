def top_k(scores: dict[str, float], k: int) -> list[str]:
    """Names with the k highest scores, best first; ties by name.

    Args:
        scores: name -> score.
        k (>= 0): how many names.

    Returns:
        Up to k names.
    """
    ranked = sorted(scores.items(), key=lambda item: (-item[1], item[0]))
    return [name for name, _ in ranked[:k]]
