import hashlib


def sha256_hex(text: str) -> str:
    """SHA-256 digest of a string (UTF-8 encoded), as 64 lowercase hex characters.

    Args:
        text: the string to hash.

    Returns:
        The hex digest.
    """
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
