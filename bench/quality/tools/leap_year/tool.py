def leap_year(year: int) -> bool:
    """Whether a year of the Gregorian calendar is a leap year.

    Args:
        year: the year.

    Returns:
        True for leap years.
    """
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
