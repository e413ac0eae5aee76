def bomb() -> int:
    """Print far more than anyone wants to read."""
    line = "x" * 1023
    for _ in range(4 << 20):
        print(line)
    return 4 << 30
