def spin() -> int:
    """Never return."""
    while True:
        pass
