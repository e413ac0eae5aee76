_BYTES_PER_UNIT = 1048576.0


def mebibytes_to_bytes(mib: float) -> float:
    """Convert mebibytes to bytes.

    Args:
        mib: the value in mebibytes.

    Returns:
        The value in bytes.
    """
    return mib * _BYTES_PER_UNIT
