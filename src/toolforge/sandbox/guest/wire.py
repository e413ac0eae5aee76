"""Frames, JSON and limits for the guest scripts, on C accelerators only.

A frame is a 4-byte big-endian length and a JSON object. JSON goes through `_json` directly:
the `json` package would import `re`, several milliseconds per sandbox start.
"""

from __future__ import annotations

import _json
import _thread
import os
import resource
import select
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs milliseconds to import; annotations are strings anyway
    from typing import Any

MAX_DEPTH = 100


class _ScanContext:
    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int

    @staticmethod
    def parse_constant(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")


def _no_default(obj: object) -> Any:
    raise TypeError(f"{type(obj).__name__} is not JSON")


_scan = _json.make_scanner(_ScanContext())
_encode = _json.make_encoder(
    {}, _no_default, _json.encode_basestring_ascii, None, ":", ",", False, False, False
)


def loads(text: str) -> Any:
    try:
        value, end = _scan(text, 0)
    except StopIteration:
        raise ValueError("not JSON") from None
    if end != len(text):
        raise ValueError("trailing data after JSON")
    return value


def dumps(value: Any) -> str:
    """Plain JSON (ASCII, no NaN); the caller has already checked the types."""
    return "".join(_encode(value, 0))


def plain_json_problem(value: Any) -> str | None:
    """Why `value` is not plain JSON, or None.

    Exact types only: a subclass of str/int/float/list/dict could carry an `__eq__` that
    always says True, and no object of the tool's making may leave its process.
    """
    stack: list[tuple[Any, str, int]] = [(value, "$", 0)]
    while stack:
        item, path, depth = stack.pop()
        kind = type(item)
        if kind is str:
            if not item.isascii() and _lone_surrogate(item):
                return f"{path}: a string with a lone surrogate is not UTF-8 text"
            continue
        if item is None or kind is bool or kind is int:
            continue
        if kind is float:
            if item != item or item in (float("inf"), float("-inf")):
                return f"{path}: {item!r} is not valid JSON"
            continue
        if depth >= MAX_DEPTH:
            return f"{path}: nested deeper than {MAX_DEPTH} levels"
        if kind is list or kind is tuple:
            stack.extend((x, f"{path}[{i}]", depth + 1) for i, x in enumerate(item))
        elif kind is dict:
            for key, x in item.items():
                if type(key) is not str:
                    return f"{path}: key {key!r} is a {type(key).__name__}, not a str"
                if not key.isascii() and _lone_surrogate(key):
                    return f"{path}: a key with a lone surrogate is not UTF-8 text"
                stack.append((x, f"{path}.{key}", depth + 1))
        else:
            bases = [b.__name__ for b in kind.__mro__[1:] if b in (str, int, float, list, dict)]
            subclass = f" (a subclass of {bases[0]})" if bases else ""
            return f"{path}: {kind.__name__}{subclass} is not a JSON type"
    return None


def _lone_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def read_frame(fd: int) -> dict[str, Any] | None:
    """The next frame from the parent, or None at end of file."""
    header = _read_exact(fd, 4)
    if header is None:
        return None
    body = _read_exact(fd, int.from_bytes(header, "big"))
    if body is None:
        return None
    message = loads(body.decode("utf-8"))
    if not isinstance(message, dict):
        raise ValueError("frame is not an object")
    return message


def _read_exact(fd: int, size: int) -> bytes | None:
    chunks = []
    while size:
        chunk = os.read(fd, min(size, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


class Lifeline:
    """Reads the parent's frames, and watches on a thread of its own for the parent's end,
    so that it is seen even while the tool or a test is busy (or asleep) in the main thread.

    bwrap's --die-with-parent does not reach the sandbox's init once bwrap has switched it
    to the sandbox uid (a credential change clears the parent-death signal), and the rlimit
    backend has no such thing at all. So: end of file on the parent's pipe means the parent
    is gone, and everything this sandbox started is killed. A tool could defeat this only by
    stopping its own process, which leaves a frozen, idle, unprivileged process behind.

    The frames themselves are read by the thread that asks for them: a hand-over between
    threads would cost every call two wake-ups.
    """

    def __init__(self, rfd: int, scope: str) -> None:
        self.rfd = rfd
        self.scope = scope
        _thread.start_new_thread(self._watch, ())

    def get(self) -> dict[str, Any]:
        """The next frame (the protocol has at most one outstanding)."""
        try:
            frame = read_frame(self.rfd)
        except BaseException:
            frame = None
        if frame is None:
            kill_everything(self.scope)
        assert frame is not None
        return frame

    def _watch(self) -> None:
        poller = select.poll()
        poller.register(self.rfd, 0)  # only the end: POLLHUP (or the descriptor is gone)
        while True:
            if any(mask & (select.POLLHUP | select.POLLERR | select.POLLNVAL)
                   for _fd, mask in poller.poll()):
                kill_everything(self.scope)


def kill_everything(scope: str) -> None:
    """The parent is gone: kill every process of this sandbox, this one included."""
    try:
        if scope == "all" and os.getuid() != 0:
            # Own pid namespace, or a uid of our own: -1 reaches exactly our processes.
            os.kill(-1, 9)
        else:
            os.killpg(0, 9)
    finally:
        os._exit(70)


def write_frame(fd: int, message: dict[str, Any]) -> None:
    write_raw(fd, dumps(message))


def write_raw(fd: int, text: str) -> None:
    write_raws(fd, [text])


def write_raws(fd: int, texts: list[str]) -> None:
    """Frames of already-encoded JSON, in one write where the pipe takes them at once."""
    chunks = []
    for text in texts:
        data = text.encode("ascii")
        chunks += (len(data).to_bytes(4, "big"), data)
    view = memoryview(b"".join(chunks))
    while view:
        view = view[os.write(fd, view) :]


# Directories opened before a uid drop (see drop_privileges): imports go through them.
HELD_FDS: set[int] = set()


def close_other_fds(keep: set[int]) -> None:
    """Close every inherited descriptor but ours: nothing of the parent's may leak in."""
    low = 3
    for fd in sorted(k for k in keep | HELD_FDS if k >= 3):
        if fd > low:
            os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, 1 << 16)


def apply_limits(limits: dict[str, Any], *, nproc_relative: bool = False) -> None:
    """Lower soft and hard rlimits; an unprivileged process can never raise them again."""
    nproc = int(limits["max_processes"])
    if nproc_relative:
        nproc += count_processes_of_my_uid()
    cpu = int(limits["cpu_time_s"])
    wanted = {
        # SIGXCPU at the soft limit, SIGKILL one second later if it is ignored.
        resource.RLIMIT_CPU: (cpu, cpu + 1),
        resource.RLIMIT_AS: int(limits["memory_bytes"]),
        resource.RLIMIT_NPROC: nproc,
        resource.RLIMIT_FSIZE: int(limits["max_file_size_bytes"]),
        resource.RLIMIT_NOFILE: int(limits["max_open_files"]),
        resource.RLIMIT_CORE: 0,
    }
    for which, value in wanted.items():
        soft, hard = value if isinstance(value, tuple) else (value, value)
        _, current_hard = resource.getrlimit(which)
        if current_hard != resource.RLIM_INFINITY:
            soft, hard = min(soft, current_hard), min(hard, current_hard)
        resource.setrlimit(which, (soft, hard))


_uid_processes: list[int] = []


def count_processes_of_my_uid() -> int:
    """Processes already running as our uid (RLIMIT_NPROC counts them all), counted once:
    at boot, while /proc is still in reach (a Landlock sandbox cannot list it later)."""
    if not _uid_processes:
        me = os.getuid()
        count = 0
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    count += os.stat(f"/proc/{entry}").st_uid == me
                except OSError:
                    pass
        _uid_processes.append(count)
    return _uid_processes[0]


def drop_privileges(uid: int) -> None:
    """Become `uid` (a sandbox started by root), keeping the stdlib importable.

    An interpreter under a 0700 directory (pyenv in /root) is unreachable for `uid`, so each
    sys.path directory is opened first and then reached through /proc/self/fd, which the
    kernel resolves without checking the directories above it.
    """
    held: dict[str, int] = {}
    for path in list(sys.path):
        if path and os.path.isdir(path):
            held[path] = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            HELD_FDS.add(held[path])
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    moved = {}
    for i, path in enumerate(sys.path):
        if path in held and not os.access(path, os.R_OK | os.X_OK):
            moved[path] = sys.path[i] = f"/proc/self/fd/{held[path]}"
    for path, fd in held.items():
        if path not in moved:
            HELD_FDS.discard(fd)
            os.close(fd)
    # Packages imported before the drop (encodings...) search their own __path__.
    for module in list(sys.modules.values()):
        search = getattr(module, "__path__", None)
        if type(search) is list:
            for i, entry in enumerate(search):
                for old, new in moved.items():
                    if entry == old or entry.startswith(old + "/"):
                        search[i] = new + entry[len(old):]
    sys.path_importer_cache.clear()


def format_traceback(tb: Any, sources: dict[str, str] | None = None, limit: int = 12) -> str:
    """A short traceback without importing `traceback` (and its `linecache`/`re`)."""
    frames = []
    while tb is not None:
        frames.append(tb)
        tb = tb.tb_next
    lines = []
    for entry in frames[-limit:]:
        code = entry.tb_frame.f_code
        lines.append(f'  File "{code.co_filename}", line {entry.tb_lineno}, in {code.co_name}')
        text = (sources or {}).get(code.co_filename)
        if text is not None:
            source_lines = text.splitlines()
            if 0 < entry.tb_lineno <= len(source_lines):
                lines.append("    " + source_lines[entry.tb_lineno - 1].strip())
    return "Traceback (most recent call last):\n" + "\n".join(lines)


def short_repr(value: Any, limit: int = 300) -> str:
    try:
        text = repr(value)
    except BaseException as exc:  # a hostile __repr__ must not break reporting
        text = f"<unprintable {type(value).__name__}: {type(exc).__name__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def safe_str(value: Any, limit: int = 4000) -> str:
    try:
        text = str(value)
    except BaseException:
        text = f"<unprintable {type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


class CappedText:
    """A stand-in for sys.stdout/sys.stderr that keeps at most `cap` characters."""

    encoding = "utf-8"
    errors = "replace"

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.parts: list[str] = []
        self.size = 0
        self.exceeded = False

    def write(self, text: Any) -> int:
        if type(text) is not str:
            text = safe_str(text)
        self.size += len(text)
        if self.size > self.cap:
            self.exceeded = True
            raise OSError("output limit exceeded")
        self.parts.append(text)
        return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        return None

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        raise OSError("captured stream has no file descriptor")

    def getvalue(self) -> str:
        return "".join(self.parts)
