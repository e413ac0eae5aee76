def compound_interest(principal: float, annual_rate: float, years: int,
                      compounds_per_year: int = 12) -> float:
    """Future value with compound interest, rounded to cents.

    Args:
        principal: the starting amount.
        annual_rate: nominal yearly rate as a fraction (0.05 for 5%).
        years (>= 0): number of years.
        compounds_per_year (>= 1): compounding periods per year.

    Returns:
        The amount after the given years, rounded to 0.01.
    """
    periods = compounds_per_year * years
    return round(principal * (1 + annual_rate / compounds_per_year) ** periods, 2)
