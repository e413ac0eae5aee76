"""Reading git's refs and object ids straight from files: no process, no GitPython.

Used on hot paths that only need to know whether the library moved (a warm daemon's list
cache, the runtime's catalog of active tools) or whether a file still matches a blob.
"""

from __future__ import annotations

import hashlib
from pathlib import Path


def git_head(git_dir: Path) -> str:
    """The commit HEAD points to, read from git's files (no process)."""
    try:
        head = (git_dir / "HEAD").read_text().strip()
    except OSError:
        return "?"
    if not head.startswith("ref: "):
        return head
    ref = head[5:]
    try:
        return (git_dir / ref).read_text().strip()
    except OSError:
        pass
    try:
        for line in (git_dir / "packed-refs").read_text().splitlines():
            if line.endswith(f" {ref}"):
                return line.split(" ", 1)[0]
    except OSError:
        pass
    return ref


def blob_id(data: bytes) -> str:
    """The object id git gives a file with these bytes (`git hash-object`)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()
