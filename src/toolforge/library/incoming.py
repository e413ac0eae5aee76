"""Files coming in from outside the library: `toolforge add`, `init --from`.

A file handed to toolforge is data from whoever wrote it, read on the user's behalf and
committed to git. So, before anything is read:
- the path is judged with lstat: only a regular file is read. A symlink is refused (a
  `test_tool.py` pointing at `~/.aws/credentials` would be committed), and so are devices,
  FIFOs and sockets (a FIFO would block the read forever, a device never end);
- its size is checked against `MAX_SOURCE_BYTES`;
- it is opened with O_NOFOLLOW | O_NONBLOCK (a symlink or FIFO swapped in after the lstat
  fails or cannot block) and checked again on the open descriptor, then read up to the cap;
- it must be UTF-8 text.
The same caps apply to text that arrives as strings (the daemon's add route, the Python
API): `check_source_text`.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from toolforge.errors import IncomingFileError, NotFoundError, TooLargeError

MAX_SOURCE_BYTES = 1 << 20  # one tool.py or test_tool.py: far beyond any real tool
TOOL_FILE = "tool.py"
TEST_FILE = "test_tool.py"
_KINDS = {stat.S_IFDIR: "a directory", stat.S_IFCHR: "a character device",
          stat.S_IFBLK: "a block device", stat.S_IFIFO: "a FIFO (named pipe)",
          stat.S_IFSOCK: "a socket", stat.S_IFLNK: "a symbolic link"}


def read_source(path: Path, *, what: str | None = None) -> str:
    """The text of the regular file `path`, or a clear error (nothing is read otherwise)."""
    what = what or path.name
    info = _lstat(path)
    if info is None:
        raise NotFoundError(f"no such file: {path}")
    _require_regular(path, info.st_mode)
    _require_size(path, info.st_size)
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # it became a symlink after the lstat
            raise IncomingFileError(f"{path} is a symbolic link: refusing to follow it")
        raise IncomingFileError(f"cannot open {path}: {exc.strerror}")
    try:
        opened = os.fstat(fd)
        _require_regular(path, opened.st_mode)
        if (opened.st_dev, opened.st_ino) != (info.st_dev, info.st_ino):
            raise IncomingFileError(f"{path} was replaced while it was being read")
        _require_size(path, opened.st_size)
        data = _read_capped(fd, MAX_SOURCE_BYTES + 1)
    finally:
        os.close(fd)
    _require_size(path, len(data))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise IncomingFileError(
            f"{path} is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})",
            hint=f"{what} must be Python source saved as UTF-8")


def read_optional_source(path: Path, *, what: str | None = None) -> str:
    """Like `read_source`, but "" when nothing is there (a symlink is there: refused)."""
    return "" if _lstat(path) is None else read_source(path, what=what)


def check_source_text(text: str, what: str) -> None:
    """The same caps for text that arrived as a string (an API call, a daemon request)."""
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError as exc:
        raise IncomingFileError(f"{what} is not valid text (a lone surrogate at offset "
                                f"{exc.start})", hint=f"{what} must be UTF-8 Python source")
    if size > MAX_SOURCE_BYTES:
        raise TooLargeError(f"{what} is {size:,} bytes, over the {MAX_SOURCE_BYTES:,} byte "
                            "cap", hint="a tool is one small function and its tests")


def read_tool_input(path: Path, tests: Path | None = None) -> tuple[str, str, str]:
    """(code, tests, origin) from a tool file or a directory with tool.py [+ test_tool.py]."""
    path = path.expanduser()
    info = _lstat(path)
    if info is None:
        raise NotFoundError(f"no such file: {path}")
    if stat.S_ISLNK(info.st_mode):
        raise IncomingFileError(f"{path} is a symbolic link: refusing to follow it",
                                hint=f"give the real path: {path.resolve()}")
    if stat.S_ISDIR(info.st_mode):
        code_file = path / TOOL_FILE
        if _lstat(code_file) is None:
            raise NotFoundError(f"{path} has no {TOOL_FILE}",
                                hint="a tool directory holds tool.py and optionally "
                                "test_tool.py")
        test_file = tests or (path / TEST_FILE)
    else:
        code_file = path
        test_file = tests or path.with_name(f"test_{path.name}")
    if tests is not None and _lstat(tests) is None:
        raise NotFoundError(f"no such file: {tests}")
    code = read_source(code_file, what=TOOL_FILE)
    test_source = read_optional_source(test_file.expanduser(), what=TEST_FILE)
    return code, test_source, str(path.resolve())


def _lstat(path: Path) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise IncomingFileError(f"cannot read {path}: {exc.strerror}")


def _require_regular(path: Path, mode: int) -> None:
    if stat.S_ISREG(mode):
        return
    kind = _KINDS.get(stat.S_IFMT(mode), "not a regular file")
    hint = ("copy the file itself instead of linking to it" if stat.S_ISLNK(mode)
            else "toolforge reads regular files only")
    raise IncomingFileError(f"{path} is {kind}: refusing to read it", hint=hint)


def _require_size(path: Path, size: int) -> None:
    if size > MAX_SOURCE_BYTES:
        raise TooLargeError(f"{path} is over the {MAX_SOURCE_BYTES:,} byte cap "
                            f"({size:,} bytes or more)",
                            hint="a tool is one small function and its tests")


def _read_capped(fd: int, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while size < limit:
        try:
            chunk = os.read(fd, min(1 << 16, limit - size))
        except BlockingIOError:  # only a non-regular file could block: already refused
            break
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)
