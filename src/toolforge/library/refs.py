"""Reading git's refs and object ids straight from files: no process, no GitPython.

Used on hot paths that only need to know whether the library moved (a warm daemon's list
cache, the runtime's catalog of active tools) or whether a file still matches a blob.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def git_head(git_dir: Path | str) -> str:
    """The commit HEAD points to, read from git's files (no process). Checked on every tool
    call, so plain `os` calls: pathlib's overhead would double the cost."""
    base = os.fspath(git_dir)
    head = _read(f"{base}/HEAD")
    if head is None:
        return "?"
    if not head.startswith("ref: "):
        return head
    ref = head[5:]
    direct = _read(f"{base}/{ref}")
    if direct is not None:
        return direct
    packed = _read(f"{base}/packed-refs")
    for line in (packed or "").splitlines():
        if line.endswith(f" {ref}"):
            return line.split(" ", 1)[0]
    return ref


def _read(path: str) -> str | None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        data = b""
        while chunk := os.read(fd, 1 << 16):
            data += chunk
    except OSError:
        return None
    finally:
        os.close(fd)
    return data.decode("utf-8", "replace").strip()


def blob_id(data: bytes) -> str:
    """The object id git gives a file with these bytes (`git hash-object`)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()
