"""One running sandbox, seen from the parent: a private message channel and a kill switch.

Messages are length-prefixed JSON frames (4-byte big-endian length, then UTF-8 JSON) on a
dedicated pipe pair whose fd numbers the sandboxed script gets in argv. stdout and stderr are
a separate pipe the parent drains and caps; nothing printed there is ever parsed. Frames the
parent receives are decoded by the parent's own `json` with NaN/Infinity refused, so a
sandbox can only ever hand back plain JSON values.
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import json
import logging
import os
import select
import signal
import struct
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

log = logging.getLogger(__name__)

_HEADER = struct.Struct(">I")
# Room for tracebacks and metadata around a result that may itself be max_output_bytes.
FRAME_SLACK = 256 * 1024

_READY = {"t": "ready"}
_READ_SIZE = 1 << 16
_READS_PER_WAKE = 16
RecvKind = Literal["frame", "timeout", "closed", "oversize", "garbage", "output"]


@dataclass
class Received:
    kind: RecvKind
    message: dict[str, Any] | None = None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


# Made once: json.loads/dumps build a new decoder/encoder on every call given options.
_DECODER = json.JSONDecoder(parse_constant=_refuse_constant)
_ENCODER = json.JSONEncoder(allow_nan=False, separators=(",", ":"))


def decode_frame(body: bytes) -> dict[str, Any] | None:
    """Decode one frame body; None when it is not a JSON object (a protocol violation)."""
    try:
        obj = _DECODER.decode(body.decode("utf-8"))
    except (ValueError, RecursionError, UnicodeDecodeError):
        return None
    return obj if isinstance(obj, dict) else None


def encode_frame(message: dict[str, Any]) -> bytes:
    body = _ENCODER.encode(message).encode()
    return _HEADER.pack(len(body)) + body


class ChildProcess(Protocol):
    """What a sandbox's handle needs of its process: a `subprocess.Popen`, or the
    `ForkedChild` of a guest forked by a fork server (sandbox/zygote.py)."""

    pid: int

    @property
    def returncode(self) -> int | None: ...

    def poll(self) -> int | None: ...

    def wait(self, timeout: float | None = None) -> int: ...


@dataclass
class SandboxedProcess:
    """A sandboxed interpreter running one of our stdlib-only scripts.

    `terminate` is the backend's way of making sure nothing of the sandbox survives: it
    sends the kill and returns the wait. The handle calls it exactly once.
    """

    popen: ChildProcess
    to_child: int
    from_child: int
    output_fd: int
    backend: str
    max_frame: int
    max_output: int
    terminate: Callable[[SandboxedProcess], Callable[[], None]]
    uid: int | None = None
    init_extra: dict[str, Any] = field(default_factory=dict)
    work_dir: str | None = None
    started: float = field(default_factory=time.monotonic)
    output_total: int = 0
    _buffer: bytearray = field(default_factory=bytearray)
    _output: bytearray = field(default_factory=bytearray)
    _dead: bool = False
    _poll: Any = None
    _output_open: bool = True
    _terminated: bool = False
    _ready: bool = False
    _pending: Received | None = None
    init_pidfd: int | None = None
    on_ready: Callable[[SandboxedProcess], None] | None = None
    cgroup: Any = None  # sandbox.cgroup.SandboxCgroup: memory, pids and kill for the tree
    watch_key: str | None = None  # its name with the reaper
    # Processes with the same key hash strings alike (forked from one fork server); None: a
    # started interpreter, whose key is its own.
    hash_key: int | None = None

    def __post_init__(self) -> None:
        os.set_blocking(self.to_child, False)
        os.set_blocking(self.from_child, False)
        os.set_blocking(self.output_fd, False)
        self._poll = select.poll()
        self._poll.register(self.from_child, select.POLLIN)
        self._poll.register(self.output_fd, select.POLLIN)

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def alive(self) -> bool:
        return not self._dead and self.popen.poll() is None

    @property
    def output_exceeded(self) -> bool:
        return self.output_total > self.max_output

    def retarget(self, max_output_bytes: int, memory_bytes: int, max_processes: int) -> None:
        """Adopt a job's limits (a warm sandbox was started with the pool's)."""
        self.max_output = max_output_bytes
        self.max_frame = max_output_bytes + FRAME_SLACK
        if self.cgroup is not None:
            self.cgroup.set_limits(memory_bytes, max_processes)

    def memory_exhausted(self) -> bool:
        """Whether the sandbox's cgroup ran out of memory (its OOM killer acted)."""
        return self.cgroup is not None and bool(self.cgroup.memory_exhausted())

    # --- sending ------------------------------------------------------------------------

    def send(self, message: dict[str, Any], deadline: float) -> bool:
        """Write one frame; False if the sandbox is gone or does not read before `deadline`."""
        data = memoryview(encode_frame(message))
        while data:
            try:
                written = os.write(self.to_child, data)
                data = data[written:]
                continue
            except BlockingIOError:
                pass
            except OSError:
                return False
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            # Keep draining stdout while we wait, or a chatty child could deadlock us.
            self._drain_output()
            poller = select.poll()
            poller.register(self.to_child, select.POLLOUT)
            poller.poll(min(remaining, 0.05) * 1000)
        return True

    # --- receiving ----------------------------------------------------------------------

    def wait_ready(self, deadline: float) -> bool:
        """Wait for the guest's first frame, which it sends once it has booted."""
        if self._ready:
            return True
        received = self._next(deadline)
        if received.kind == "frame" and received.message == _READY:
            self._became_ready()
        elif received.kind != "timeout":
            self._pending = received  # whatever it is, recv() must report it
        return self._ready

    def recv(self, deadline: float) -> Received:
        """Wait for the next frame until `deadline` (time.monotonic), draining stdout meanwhile."""
        if self._pending is not None:
            pending, self._pending = self._pending, None
            return pending
        while True:
            received = self._next(deadline)
            if not self._ready and received.kind == "frame" and received.message == _READY:
                self._became_ready()
                continue
            return received

    def _became_ready(self) -> None:
        self._ready = True
        if self.on_ready is not None:
            self.on_ready(self)

    def _next(self, deadline: float) -> Received:
        while True:
            parsed = self._parse_frame()
            if parsed is not None:
                return parsed
            if self.output_exceeded:
                return Received("output")
            if self._dead:
                return Received("closed")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return Received("timeout")
            for fd, _events in self._poll.poll(max(1, int(remaining * 1000 + 0.999))):
                if fd == self.output_fd:
                    self._drain_output()
                elif fd == self.from_child:
                    self._read_channel()

    def _read_channel(self) -> None:
        # At most 1 MiB per call, as one read used to: a guest that keeps writing must not
        # keep this loop (and the frame-size and deadline checks after it) from returning.
        for _ in range(_READS_PER_WAKE):
            try:
                # 64 KiB, not more: a larger request makes os.read allocate (mmap) the whole
                # buffer before it reads, ~25 us a call, for frames of a few hundred bytes.
                chunk = os.read(self.from_child, _READ_SIZE)
            except BlockingIOError:
                return
            except OSError:
                chunk = b""
            if not chunk:
                self._dead = True
                with contextlib.suppress(KeyError):
                    self._poll.unregister(self.from_child)
                self._drain_output()
                return
            self._buffer += chunk
            if len(chunk) < _READ_SIZE:
                return  # the pipe is empty for now (a full read: there may be more)

    def _parse_frame(self) -> Received | None:
        if len(self._buffer) < _HEADER.size:
            return None
        (length,) = _HEADER.unpack_from(self._buffer)
        if length > self.max_frame:
            return Received("oversize")
        if len(self._buffer) < _HEADER.size + length:
            return None
        body = bytes(self._buffer[_HEADER.size : _HEADER.size + length])
        del self._buffer[: _HEADER.size + length]
        message = decode_frame(body)
        return Received("garbage") if message is None else Received("frame", message)

    def _drain_output(self) -> None:
        while self._output_open and self.output_fd >= 0:
            try:
                chunk = os.read(self.output_fd, 1 << 16)
            except BlockingIOError:
                return
            except OSError:
                chunk = b""
            if not chunk:
                self._output_open = False
                with contextlib.suppress(KeyError):
                    self._poll.unregister(self.output_fd)
                return
            self.output_total += len(chunk)
            room = self.max_output - len(self._output)
            if room > 0:
                self._output += chunk[:room]

    def take_output(self) -> str:
        """Raw stdout/stderr written since the last call (capped), decoded leniently."""
        self._drain_output()
        text = self._output.decode("utf-8", "replace")
        self._output.clear()
        return text

    # --- ending -------------------------------------------------------------------------

    def exit_signal(self) -> int | None:
        """The signal that ended the sandboxed program, if that is how it ended."""
        code = self.popen.poll()
        if code is None:
            return None
        if code < 0:
            return -code
        # bwrap reports a child killed by signal N as exit status 128 + N.
        if self.backend == "bwrap" and code > 128:
            return code - 128
        return None

    def wait_exit(self, timeout: float) -> int | None:
        wait_for_exit(self.popen, timeout)
        return self.popen.poll()

    def killed_at_once(self) -> bool:
        """Whether the kill `begin_kill` sends reaches every process of the sandbox by
        itself: its cgroup's kill, or a process group or uid none of them can leave. Not
        so for bwrap without a cgroup kill, where the processes of the pid namespace die
        only once its init has: their wait must come before anything that counts on them
        being gone."""
        if self.cgroup is not None and self.cgroup.directories.get("kill"):
            return True
        return self.backend != "bwrap"

    def kill(self) -> None:
        """Kill the whole sandbox tree and wait until it is gone (idempotent)."""
        self.begin_kill()()

    def begin_kill(self) -> Callable[[], None]:
        """Send the kill now; the returned callable waits until nothing is left."""
        if self._terminated:
            return _nothing
        self._terminated = True
        self._dead = True
        # Kill before closing our ends: a guest that saw EOF would exit by itself, and then
        # bwrap's monitor leaves its init for the host's init to reap.
        reap = self.terminate(self)
        for fd in (self.to_child, self.from_child, self.output_fd):
            with contextlib.suppress(OSError):
                os.close(fd)
        self.to_child = self.from_child = self.output_fd = -1
        self._output_open = False
        return reap


def kill_all(processes: list[SandboxedProcess]) -> None:
    """Kill several sandboxes, signalling all of them before waiting for any."""
    for reap in [p.begin_kill() for p in processes]:
        reap()


class _Teardown:
    """Runs the waits that `begin_kill` returns on a thread of its own.

    The kill itself is sent by `begin_kill`, before the caller goes on: nothing of a sandbox
    runs after that. What is left (waiting for the processes to exit, removing the cgroups
    and the work directory, releasing the uid) takes a millisecond or two that a validation
    need not wait for. Should this process die first, the reaper process (sandbox/reaper.py)
    still has each sandbox's recipe until its wait is done, and removes what is left.
    """

    def __init__(self) -> None:
        self.pid = os.getpid()
        self._lock = threading.Lock()
        self._done = threading.Condition(self._lock)
        self._waits: deque[Callable[[], None]] = deque()
        self._pending = 0
        self._thread: threading.Thread | None = None

    def submit(self, waits: list[Callable[[], None]]) -> None:
        waits = [w for w in waits if w is not _nothing]
        if not waits:
            return
        with self._lock:
            self._waits.extend(waits)
            self._pending += len(waits)
            if self._thread is None:
                self._thread = threading.Thread(target=self._serve, name="sandbox-teardown",
                                                daemon=True)
                self._thread.start()
            self._done.notify_all()

    def drain(self, timeout: float | None = None) -> bool:
        """Block until every submitted wait is done (False if `timeout` passed first)."""
        with self._lock:
            return self._done.wait_for(lambda: self._pending == 0, timeout)

    def _serve(self) -> None:
        while True:
            with self._lock:
                self._done.wait_for(lambda: bool(self._waits))
                wait = self._waits.popleft()
            try:
                wait()
            except Exception:  # the next sandbox's teardown must still happen
                log.exception("sandbox teardown failed")
            finally:
                with self._lock:
                    self._pending -= 1
                    self._done.notify_all()


_teardown = _Teardown()


def _this_process() -> _Teardown:
    global _teardown
    if _teardown.pid != os.getpid():
        _teardown = _Teardown()  # a forked child owns none of its parent's sandboxes
    return _teardown


def finish_later(waits: list[Callable[[], None]]) -> None:
    """Run the waits `begin_kill` returned (the kills already sent) in the background."""
    _this_process().submit(waits)


def drain(timeout: float | None = None) -> bool:
    """Wait until every sandbox handed to `finish_later` is gone and cleaned up: at exit,
    and wherever what a sandbox leaves behind is checked."""
    return _this_process().drain(timeout)


# Bounded: a sandbox that will not die must not keep this process from exiting (its reaper
# still holds the recipe, and kills and removes what is left once we are gone).
atexit.register(drain, 30.0)


def _nothing() -> None:
    return None


def wait_for_exit(popen: ChildProcess, timeout: float) -> bool:
    """Block until `popen` exits (True) or `timeout` passes (False), without polling loops."""
    if popen.poll() is not None:
        return True
    try:
        pidfd = os.pidfd_open(popen.pid)
    except OSError:
        with contextlib.suppress(subprocess.TimeoutExpired):
            popen.wait(timeout)
        return popen.poll() is not None
    try:
        poller = select.poll()
        poller.register(pidfd, select.POLLIN)
        poller.poll(timeout * 1000)
    finally:
        os.close(pidfd)
    return popen.poll() is not None


def signal_name(signum: int) -> str:
    with contextlib.suppress(ValueError):
        return signal.Signals(signum).name
    return f"signal {signum}"


def kill_quietly(pid: int, sig: int = signal.SIGKILL) -> bool:
    try:
        os.kill(pid, sig)
    except OSError as exc:
        return exc.errno == errno.EPERM
    return True
