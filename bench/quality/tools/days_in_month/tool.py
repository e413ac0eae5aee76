def days_in_month(year: int, month: int) -> int:
    """Number of days in a month of the Gregorian calendar.

    Args:
        year: the year.
        month (1 <= m <= 12): the month.

    Returns:
        28 to 31.
    """
    import calendar
    return calendar.monthrange(year, month)[1]
