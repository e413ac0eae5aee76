import os


def bomb() -> int:
    """Flood the raw stdout and stderr descriptors."""
    block = b"y" * (1 << 16)
    for index in range(1 << 16):
        os.write(1 + index % 2, block)
    return 4 << 30
