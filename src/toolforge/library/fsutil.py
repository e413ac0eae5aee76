"""Atomic file writes: a reader or a crash sees the old file or the new one, never half.

The temporary file of a write is named `.<name>.<random>.tmp` beside its target, so a
write killed half-way leaves a file that recovery recognises as its own and removes
(`write_leftovers`) without touching anything a person made.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import tempfile
from pathlib import Path

from toolforge.library.crashpoints import step

TMP_SUFFIX = ".tmp"
# mkstemp's random part: 8 characters of [a-z0-9_]
_LEFTOVER = re.compile(r"^\..+\.[a-z0-9_]{8}" + re.escape(TMP_SUFFIX) + r"$")


def atomic_write_text(path: Path, text: str, *, fsync: bool = True) -> None:
    atomic_write_bytes(path, text.encode("utf-8"), fsync=fsync)


def atomic_write_bytes(path: Path, data: bytes, *, mode: int | None = None,
                       fsync: bool = True, symlink: bool = False) -> None:
    """Replace `path` with a file holding `data` (or, with `symlink`, a link to `data`) in one
    rename. A directory in the way is an error (the caller decides what to do with it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if symlink:
        tmp = _tmp_name(path)
        os.symlink(os.fsdecode(data), tmp)
        step()
        _replace(tmp, path)
        step()
        return
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TMP_SUFFIX, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            if mode is not None:  # else mkstemp's 0600
                os.fchmod(fh.fileno(), mode)
            if fsync:
                os.fsync(fh.fileno())
    except BaseException:
        _unlink(tmp)
        raise
    step()
    _replace(tmp, path)
    step()


def _replace(tmp: str, path: Path) -> None:
    try:
        os.replace(tmp, path)
    except BaseException:
        _unlink(tmp)
        raise


def leftover_name(path: Path) -> Path:
    """A name beside `path` for something being built or removed there: recovery removes
    whatever is left under such a name (`write_leftovers`)."""
    return Path(_tmp_name(path))


def _tmp_name(path: Path) -> str:
    # Same shape as mkstemp's names, so that a leftover is recognised the same way.
    return str(path.parent / f".{path.name}.{os.urandom(6).hex()[:8]}{TMP_SUFFIX}")


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def remove_tree(path: Path) -> None:
    """Remove a file or a whole directory so that readers see it there or gone, never half
    removed: a directory is first renamed to a leftover name beside it (which recovery
    sweeps if this process dies before the removal ends)."""
    if path.is_symlink() or not path.is_dir():
        path.unlink(missing_ok=True)
        return
    gone = _tmp_name(path)
    try:
        os.rename(path, gone)
    except FileNotFoundError:
        return
    step()
    shutil.rmtree(gone)


def is_write_leftover(name: str) -> bool:
    """Whether a file name is the temporary file of an interrupted `atomic_write_*`."""
    return _LEFTOVER.match(name) is not None


def write_leftovers(top: Path, *, recursive: bool, skip: tuple[str, ...] = ()) -> list[Path]:
    """The temporary files (and directories being removed) of interrupted writes in `top`,
    and below it when `recursive`, never following links or entering `.git` or the
    directories named in `skip`."""
    found: list[Path] = []
    stack = [top]
    while stack:
        d = stack.pop()
        try:
            it = os.scandir(d)
        except OSError:
            continue
        with it:
            for de in it:
                try:
                    is_dir = stat.S_ISDIR(de.stat(follow_symlinks=False).st_mode)
                except OSError:
                    continue
                if is_write_leftover(de.name):
                    found.append(Path(de.path))
                elif is_dir and recursive and de.name != ".git" and de.name not in skip:
                    stack.append(Path(de.path))
    return found


def remove_leftover(path: Path) -> None:
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
    except FileNotFoundError:
        pass
