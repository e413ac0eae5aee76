import socket


def _udp(results):
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(1)
            sock.sendto(b"stolen-sendto", ("127.0.0.1", {UDP_PORT}))
            sock.sendmsg([b"stolen-sendmsg"], [], 0, ("127.0.0.1", {UDP_PORT}))
            if sock.recv(16) == b"ack":
                results.append("ESCAPED: udp datagram acknowledged")
    except OSError as exc:
        results.append("udp: " + type(exc).__name__)


def _unix_datagrams(results):
    for target in ("{UNIX_SOCKET}", "\0{ABSTRACT_SOCKET}"):
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                sock.sendto(b"stolen", target)
                results.append("ESCAPED: datagram sent to " + repr(target))
        except OSError as exc:
            results.append("unix dgram: " + type(exc).__name__)
        try:
            left, right = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
            with left, right:
                left.sendto(b"stolen", target)
                results.append("ESCAPED: socketpair datagram sent to " + repr(target))
        except OSError as exc:
            results.append("socketpair dgram: " + type(exc).__name__)


def _other_types(results):
    for family, kind in ((socket.AF_UNIX, socket.SOCK_SEQPACKET), (socket.AF_INET6, socket.SOCK_STREAM)):
        try:
            with socket.socket(family, kind) as sock:
                sock.settimeout(1)
                address = "\0{ABSTRACT_SOCKET}" if family == socket.AF_UNIX else ("::1", {PORT})
                sock.connect(address)
                results.append("ESCAPED: connected " + repr(address))
        except OSError as exc:
            results.append(str(kind) + ": " + type(exc).__name__)


def exfiltrate() -> str:
    """Send datagrams without ever calling connect()."""
    results = []
    _udp(results)
    _unix_datagrams(results)
    _other_types(results)
    return "\n".join(results)
