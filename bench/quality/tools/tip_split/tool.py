def tip_split(bill: float, tip_percent: float, people: int) -> float:
    """Each person's share of a bill with tip, rounded up to the cent.

    Args:
        bill (>= 0): the bill.
        tip_percent (>= 0): the tip in percent.
        people (>= 1): how many people share it.

    Returns:
        The share per person.
    """
    import math

    total = bill * (1 + tip_percent / 100.0)
    return math.ceil(total / people * 100) / 100
