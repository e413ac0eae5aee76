import datetime


def day_of_year(date: str) -> int:
    """Day of the year (1-366) of an ISO date such as "2024-03-01".

    Args:
        date: the date as YYYY-MM-DD.

    Returns:
        The ordinal day within its year.

    Raises:
        ValueError: when the text is not a valid ISO date.
    """
    return datetime.date.fromisoformat(date).timetuple().tm_yday
