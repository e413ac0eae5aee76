import csv
import io


def parse_csv_line(line: str, delimiter: str = ",") -> list[str]:
    """Split one CSV line into fields, honouring double quotes.

    Args:
        line: one line of CSV.
        delimiter: the field separator (one character).

    Returns:
        The fields.

    Raises:
        ValueError: when the delimiter is not a single character.
    """
    if len(delimiter) != 1:
        raise ValueError("the delimiter must be one character")
    rows = list(csv.reader(io.StringIO(line), delimiter=delimiter))
    return rows[0] if rows else []
