def us_date_to_iso(date: str) -> str:
    """Turn a US date "MM/DD/YYYY" into ISO "YYYY-MM-DD".

    Args:
        date: month/day/year.

    Returns:
        The ISO date.

    Raises:
        ValueError: when the text is not a valid date.
    """
    import datetime

    month, day, year = date.strip().split("/")
    return datetime.date(int(year), int(month), int(day)).isoformat()
