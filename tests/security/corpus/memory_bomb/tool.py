def bomb() -> int:
    """Hold as much memory as possible."""
    blocks = []
    while len(blocks) < 128:
        blocks.append(bytearray(64 * 1024 * 1024))
    return len(blocks) * 64
