def grade_letter(score: float) -> str:
    """Letter grade of a percentage: A (90+), B (80+), C (70+), D (60+), F.

    Args:
        score (0 <= score <= 100): the percentage.

    Returns:
        The letter.
    """
    for threshold, letter in ((90, "A"), (80, "B"), (70, "C"), (60, "D")):
        if score >= threshold:
            return letter
    return "F"
