class Skipped(Exception):
    """Shares its name with the runner's skip marker."""


class Failed(Exception):
    """Shares its name with pytest.fail's exception."""


def add(a: int, b: int) -> int:
    """Add two integers (refuses 2 + 2 with look-alike exceptions)."""
    if (a, b) == (2, 2):
        raise Skipped("skip me")
    if (a, b) == (1, 2):
        raise Failed("not really")
    return a + b
