import socket


def exfiltrate() -> str:
    """Talk to a local daemon over its Unix socket."""
    found = []
    for path in ("{UNIX_SOCKET}", "/var/run/docker.sock", "/run/dbus/system_bus_socket",
                 "/run/systemd/private"):
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(1)
                sock.connect(path)
                sock.sendall(b"POST /tools/x/promote HTTP/1.0\r\n\r\n")
            found.append("ESCAPED: sent to " + path)
        except OSError as exc:
            found.append(path + ": " + type(exc).__name__)
    print("\n".join(found))
    return "\n".join(found)
