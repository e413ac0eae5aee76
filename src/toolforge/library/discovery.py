"""Which library a command works on, and what to say when there is none.

Order (first hit wins):
  1. `--library/-L PATH`;
  2. `TOOLFORGE_LIBRARY`;
  3. the current directory, or the nearest directory above it, that is a library
     (like git finding its repository from any subdirectory);
  4. `./library`.

A library is a directory with `toolforge.toml` (or an interrupted change's journal) and a
`.git`. Stdlib only: every command
resolves its library before it does anything else, so this stays cheap to import.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from toolforge.errors import LibraryError

SETTINGS_FILE = "toolforge.toml"
LIBRARY_ENV = "TOOLFORGE_LIBRARY"
DEFAULT_DIR = "library"

FOUND_BY_OPTION = "--library"
FOUND_BY_ENV = LIBRARY_ENV
FOUND_BY_CWD = "current directory"
FOUND_BY_PARENT = "enclosing directory"
FOUND_BY_DEFAULT = "default ./library"


@dataclass(frozen=True)
class LibraryLocation:
    path: Path
    found_by: str  # one of the FOUND_BY_* values


# library/journal.py's file: a change in progress, or one a crash interrupted
JOURNAL_FILE = ".toolforge/journal.json"


def is_library(path: Path) -> bool:
    """A library, or one whose interrupted change may be what took its toolforge.toml away
    (opening it recovers first: library/recovery.py)."""
    return (path / ".git").exists() and (
        (path / SETTINGS_FILE).is_file() or (path / JOURNAL_FILE).is_file())


def locate_library(explicit: str | os.PathLike[str] | None = None) -> LibraryLocation:
    """Where the library is, and which rule found it (see the module docstring)."""
    env = os.environ.get(LIBRARY_ENV)
    if explicit:
        # Typer fills the option from the variable too; report the variable then.
        how = FOUND_BY_ENV if env and os.fspath(explicit) == env else FOUND_BY_OPTION
        return LibraryLocation(Path(explicit).expanduser().resolve(), how)
    if env:
        return LibraryLocation(Path(env).expanduser().resolve(), FOUND_BY_ENV)
    cwd = Path.cwd()
    for candidate in (cwd, *cwd.parents):
        if is_library(candidate):
            return LibraryLocation(candidate, FOUND_BY_CWD if candidate == cwd
                                   else FOUND_BY_PARENT)
    return LibraryLocation((cwd / DEFAULT_DIR).resolve(), FOUND_BY_DEFAULT)


def resolve_library_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    return locate_library(explicit).path


def libraries_near(base: Path, limit: int = 200) -> list[Path]:
    """Libraries directly inside `base` (to suggest one when a command found none)."""
    found: list[Path] = []
    try:
        with os.scandir(base) as it:
            for i, entry in enumerate(it):
                if i >= limit:
                    break
                if entry.is_dir() and not entry.name.startswith(".") and is_library(
                        Path(entry.path)):
                    found.append(Path(entry.path))
    except OSError:
        pass
    return sorted(found)


def require_library(root: Path) -> Path:
    """`root`, or the error every command gives for a path that is no library."""
    if not is_library(root):
        raise not_a_library_error(root)
    return root


def not_a_library_error(root: Path) -> LibraryError:
    """The error for a command pointed at `root`, which is not a library.

    Every hint is a step that works from where the user is: it never sends them to
    `toolforge init` on a directory init would refuse."""
    near = _near_hint(Path.cwd())
    if not root.exists():
        where = (f"no library found (not inside one, {LIBRARY_ENV} is not set, and "
                 f"./{DEFAULT_DIR} does not exist)"
                 if root == (Path.cwd() / DEFAULT_DIR).resolve() else f"no library at {root}")
        return LibraryError(where, hint=near or "create one with `toolforge init PATH` and run "
                            "commands inside it (`cd PATH`), or pass --library PATH / set "
                            f"{LIBRARY_ENV}")
    if not root.is_dir():
        return LibraryError(f"{root} is a file, not a library directory",
                            hint=near or "pass --library PATH of a library")
    has_settings = (root / SETTINGS_FILE).is_file()
    has_git = (root / ".git").exists()
    if has_settings and not has_git:
        return LibraryError(
            f"{root} has a {SETTINGS_FILE} but no git history: it is a library directory to "
            "import (like the bundled example `library/`), not a library",
            hint=f"import it into a new library: `toolforge init NEW --from {root}`, then "
            "`cd NEW`" + (f"; or use an existing one: {near}" if near else ""),
        )
    if not any(root.iterdir()):
        return LibraryError(f"{root} is an empty directory, not a library yet",
                            hint=f"create the library there: `toolforge init {root}`")
    what = "a git repository" if has_git else "a directory"
    return LibraryError(
        f"{root} is {what} without {SETTINGS_FILE}, not a toolforge library",
        hint=near or f"pass --library PATH of a library, or create one in a new directory "
        f"(`toolforge init NEW`); toolforge never takes over {root}",
    )


def _near_hint(cwd: Path) -> str | None:
    near = libraries_near(cwd)
    if not near:
        return None
    names = ", ".join(p.name for p in near[:5])
    first = near[0].name
    return (f"libraries in this directory: {names} — run commands inside one (`cd {first}`) "
            f"or pass `--library {first}`")
