def loan_payment(principal: float, annual_rate: float, months: int) -> float:
    """Monthly payment of an amortised loan, rounded to cents.

    Args:
        principal: the amount borrowed.
        annual_rate: yearly interest rate as a fraction.
        months (>= 1): number of monthly payments.

    Returns:
        The monthly payment, rounded to 0.01.
    """
    rate = annual_rate / 12
    if rate == 0:
        return round(principal / months, 2)
    return round(principal * rate / (1 - (1 + rate) ** -months), 2)
