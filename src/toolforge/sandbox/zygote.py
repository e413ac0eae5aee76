"""Fork servers for the tiers whose guest is a plain interpreter (landlock, rlimit).

A cold sandbox spent most of its CPU starting an interpreter and importing the guest's
code; forked from an interpreter that already did both (see guest/zygote.py for the
server's side), a landlock sandbox's start, boot and teardown take about 6 ms of CPU
instead of 14 here. The
child boots exactly as a started guest does: the setup frame, cgroups, uid, Landlock and
seccomp come before any untrusted code.

Two servers per environment, because forked processes share their server's string-hash
key: a sandbox can ask for one whose key differs from another's (`avoid`), which is what
the determinism check's second process needs. Any failure of a server (it cannot start,
dies, stops answering) makes the caller start the guest the old way; a dead server is
replaced on the next request.

`ForkedChild` stands in for the `subprocess.Popen` of a started guest: its parent is the
server, so its exit is seen through a pidfd and its status collected by asking the server,
which keeps it a zombie until then (its pid, and so its process group id, stay reserved for
as long as this process may signal it).
"""

from __future__ import annotations

import json
import logging
import os
import select
import socket
import subprocess
import threading
from typing import Any

from toolforge.sandbox.spawning import GUEST_DIR, interpreter, popen_from_lasting_thread

log = logging.getLogger(__name__)

_TIMEOUT_S = 10.0  # a server answers in milliseconds; past this it is broken
_SERVERS_PER_ENV = 2
_MAX_FAILURES = 3  # servers that broke before forking is given up for this process


class ZygoteError(OSError):
    """The fork server could not give a child (the caller starts one the old way)."""


class Zygote:
    """One fork server process and the socket to it (one request at a time)."""

    def __init__(self, env: dict[str, str]) -> None:
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self.popen = popen_from_lasting_thread(
                [interpreter().executable, "-I", "-S", "-B", str(GUEST_DIR / "main.py"),
                 "zygote", str(child.fileno()), str(os.getpid())],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, pass_fds=(child.fileno(),), env=env, cwd="/",
                start_new_session=True, close_fds=True)
        except BaseException:
            parent.close()
            raise
        finally:
            child.close()
        parent.settimeout(_TIMEOUT_S)
        self._socket = parent
        self._lock = threading.Lock()
        self.broken = False

    @property
    def pid(self) -> int:
        return self.popen.pid

    def spawn(self, role: str, fds: list[int], *, env: dict[str, str], cwd: str,
              argv0: str) -> tuple[ForkedChild, list[int]]:
        """Fork a guest for `role` with `fds` (in, out, output, cgroup.procs...) as its
        descriptors; the child, and those descriptors' numbers in it."""
        reply = self._ask({"op": "spawn", "role": role, "cwd": cwd, "env": env,
                           "argv0": argv0}, fds)
        try:
            child = ForkedChild(self, int(reply["pid"]))
        except (KeyError, TypeError, ValueError, OSError) as exc:
            self._break()
            raise ZygoteError(f"the fork server gave no child: {exc}") from exc
        return child, [int(fd) for fd in reply["fds"]]

    def reap(self, pid: int) -> int:
        """Collect the exit status of `pid`, a child of this server that has exited."""
        return int(self._ask({"op": "reap", "pid": pid})["status"])

    def _ask(self, request: dict[str, Any], fds: list[int] | None = None) -> dict[str, Any]:
        with self._lock:
            if self.broken:
                raise ZygoteError("the fork server is gone")
            try:
                socket.send_fds(self._socket, [json.dumps(request).encode()], fds or [])
                data = self._socket.recv(1 << 16)
                reply = json.loads(data) if data else None
            except (OSError, ValueError) as exc:
                self._break()
                raise ZygoteError(f"the fork server stopped answering: {exc}") from exc
            if not isinstance(reply, dict) or "error" in reply:
                if reply is None:
                    self._break()
                raise ZygoteError(f"the fork server refused: {reply and reply.get('error')}")
            return reply

    def _break(self) -> None:
        self.broken = True
        self._socket.close()
        try:
            self.popen.kill()
        except OSError:
            pass
        self.popen.wait()

    def close(self) -> None:
        with self._lock:
            if not self.broken:
                self._break()

    def abandon(self) -> None:
        """Drop this copy of the socket without touching the server (another process's)."""
        self.broken = True
        self._socket.close()


class ForkedChild:
    """The `Popen`-like handle of a guest forked by a `Zygote`: pid, returncode, poll(),
    wait(timeout)."""

    def __init__(self, server: Zygote, pid: int) -> None:
        self.pid = pid
        self._server = server
        self._returncode: int | None = None
        self._pidfd: int | None = os.pidfd_open(pid)  # refers to our child: it is unreaped
        self._lock = threading.Lock()

    @property
    def returncode(self) -> int | None:
        return self.poll()

    def poll(self) -> int | None:
        if self._returncode is None and self._exited(0):
            self._collect()
        return self._returncode

    def wait(self, timeout: float | None = None) -> int:
        if self._returncode is None:
            if not self._exited(timeout):
                raise subprocess.TimeoutExpired(f"sandbox {self.pid}", timeout or 0.0)
            self._collect()
        assert self._returncode is not None
        return self._returncode

    def _exited(self, timeout: float | None) -> bool:
        pidfd = self._pidfd
        if pidfd is None:
            return True
        poller = select.poll()
        poller.register(pidfd, select.POLLIN)
        return bool(poller.poll(None if timeout is None else max(0, int(timeout * 1000))))

    def _collect(self) -> None:
        with self._lock:
            if self._returncode is not None:
                return
            try:
                self._returncode = self._server.reap(self.pid)
            except ZygoteError:
                # The server died: its children were handed to init, which reaps them.
                self._returncode = -9
            if self._pidfd is not None:
                os.close(self._pidfd)
                self._pidfd = None


class ZygotePool:
    """The fork servers of this process: two per guest environment, started on first use."""

    def __init__(self) -> None:
        self._servers: dict[tuple[tuple[str, str], ...], list[Zygote]] = {}
        self._lock = threading.Lock()
        self._turn = 0
        self._failures = 0
        self._owner = os.getpid()
        self.unavailable: str | None = None  # why forking is off for this process

    def server(self, env: dict[str, str], avoid: int | None = None) -> Zygote | None:
        """A live server for guests with this environment (TMPDIR aside, which each child
        sets), whose hash key is not `avoid` (a server's pid); None if there is none."""
        if self.unavailable is not None:
            return None
        key = tuple(sorted((k, v) for k, v in env.items() if k != "TMPDIR"))
        with self._lock:
            if self._owner != os.getpid():
                # A forked copy of the process that started them: they are its servers.
                for inherited in self._servers.values():
                    for server in inherited:
                        server.abandon()
                self._servers, self._owner = {}, os.getpid()
            servers = self._servers.setdefault(key, [])
            self._failures += sum(1 for s in servers if s.broken)
            if self._failures >= _MAX_FAILURES:
                self.unavailable = f"the fork servers failed {self._failures} times"
                log.warning("sandbox: %s; starting every sandbox's interpreter instead",
                            self.unavailable)
                return None
            servers[:] = [s for s in servers if not s.broken]
            choices = [s for s in servers if s.pid != avoid]
            if not choices:  # the second server starts only when a sandbox needs it
                assert len(servers) < _SERVERS_PER_ENV
                try:
                    servers.append(Zygote(dict(key)))
                except OSError as exc:
                    self.unavailable = f"cannot start a fork server: {exc}"
                    log.warning("sandbox: %s; starting every sandbox's interpreter instead",
                                self.unavailable)
                    return None
                choices = servers[-1:]
            self._turn += 1
            return choices[self._turn % len(choices)]

    def close(self) -> None:
        with self._lock:
            for servers in self._servers.values():
                for server in servers:
                    server.close()
            self._servers.clear()


_pool = ZygotePool()


def zygotes() -> ZygotePool:
    return _pool
