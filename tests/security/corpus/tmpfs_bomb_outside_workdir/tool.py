def bomb() -> int:
    """Write as many megabytes as possible outside the work dir."""
    written = 0
    chunk = b"0" * (1 << 20)
    for directory in ("/dev", "/dev/shm", "{STDLIB}/site-packages"):
        for index in range(256):
            if written >= 256:
                break
            try:
                with open(directory + "/tf-{MARKER}-" + str(index), "wb") as handle:
                    for _ in range(4):
                        handle.write(chunk)
                        written += 1
            except OSError:
                break
    print("megabytes written outside the work dir:", written)
    return written
