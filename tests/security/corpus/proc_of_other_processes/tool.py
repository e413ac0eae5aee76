import os


def _read(path, found):
    try:
        with open(path, "rb") as handle:
            data = handle.read(4096)
        found.append("ESCAPED: read " + path + ": " + data.decode("utf-8", "replace"))
    except OSError as exc:
        found.append(path + ": " + type(exc).__name__)


def steal() -> str:
    """Look into other processes through /proc."""
    found = []
    for pid in ("{HOST_PID}", "{DECOY_PID}"):
        base = "/proc/" + pid
        for name in ("environ", "cmdline", "status", "maps", "mountinfo", "stat", "io"):
            _read(base + "/" + name, found)
        for name in ("cwd", "root", "exe"):
            try:
                found.append("ESCAPED: " + name + " -> " + os.readlink(base + "/" + name))
            except OSError as exc:
                found.append(base + "/" + name + ": " + type(exc).__name__)
        try:
            descriptors = os.listdir(base + "/fd")
            found.append("ESCAPED: open descriptors " + " ".join(descriptors))
        except OSError as exc:
            found.append(base + "/fd: " + type(exc).__name__)
            descriptors = [str(n) for n in range(3, 64)]
        for fd in descriptors:
            _read(base + "/fd/" + fd, found)
    print("\n".join(found))
    return "\n".join(found)
