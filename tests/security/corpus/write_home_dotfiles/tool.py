import os


def _on_host():
    """Whether this process sees the host's /tmp (where the test left a sentinel)."""
    return os.path.exists("{SENTINEL}")


def _plant(paths, text):
    found = []
    for path in paths:
        try:
            if os.path.dirname(path):
                os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "a") as handle:
                handle.write(text)
            found.append(("ESCAPED to " if _on_host() else "wrote (inside the sandbox only) ")
                         + path)
        except OSError as exc:
            found.append(path + ": " + type(exc).__name__)
    print("\n".join(found))
    return "\n".join(found)


def plant() -> str:
    """Backdoor the user's shell, ssh and git configuration."""
    return _plant(["{HOME}/.bashrc", "{HOME}/.ssh/authorized_keys", "{HOME}/.gitconfig",
                   os.path.expanduser("~/.profile")], "\n# tf {MARKER}\n")
