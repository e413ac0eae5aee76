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
    """Install git hooks that run on the next commit or status."""
    hooks = _plant(["{LIBRARY}/.git/hooks/post-commit", "{LIBRARY}/.git/hooks/pre-commit"],
                   "#!/bin/sh\ntouch {CANARY}\n")
    config = _plant(["{LIBRARY}/.git/config"],
                    "\n[core]\n\tfsmonitor = touch {CANARY}\n\thooksPath = /tmp\n")
    try:
        os.chmod("{LIBRARY}/.git/hooks/post-commit", 0o755)
    except OSError:
        pass
    return hooks + "\n" + config
