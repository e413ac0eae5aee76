"""Where the library is, and whether a directory looks like one. Stdlib only: the thin CLI
resolves the library before anything heavy is imported (the full `Library` lives in
store.py)."""

from __future__ import annotations

import os
from pathlib import Path

from toolforge.errors import LibraryError

SETTINGS_FILE = "toolforge.toml"
LIBRARY_ENV = "TOOLFORGE_LIBRARY"


def resolve_library_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """--library, then TOOLFORGE_LIBRARY, then the current directory if it is a library,
    then ./library."""
    if explicit:
        return Path(explicit).expanduser().resolve()
    env = os.environ.get(LIBRARY_ENV)
    if env:
        return Path(env).expanduser().resolve()
    cwd = Path.cwd()
    if looks_like_library(cwd):
        return cwd
    return (cwd / "library").resolve()


def looks_like_library(root: Path) -> bool:
    return (root / SETTINGS_FILE).is_file() and (root / ".git").exists()


def require_library(root: Path) -> Path:
    """`root`, or the error every command gives for a path that is no library."""
    if not root.exists():
        raise LibraryError(
            f"no library at {root}",
            hint="create one with `toolforge init PATH`, or point --library / "
            "TOOLFORGE_LIBRARY at an existing one",
        )
    if not looks_like_library(root):
        raise LibraryError(
            f"{root} is not a toolforge library (no {SETTINGS_FILE} or no .git)",
            hint="run `toolforge init` there, or pass --library PATH",
        )
    return root
