import socket


def exfiltrate() -> str:
    """Talk to a local daemon over an abstract Unix socket."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(1)
            sock.connect("\0{ABSTRACT_SOCKET}")
            sock.sendall(b"stolen")
    except OSError as exc:
        return "failed: " + type(exc).__name__
    return "ESCAPED: sent"
