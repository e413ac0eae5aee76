"""The fork server: an interpreter that has imported the guest's code and forks sandboxes.

Started once (per environment) by the parent, unconfined, and never given untrusted code.
Each sandbox of the landlock and rlimit tiers is forked from it instead of starting an
interpreter of its own: interpreter start-up and the guest's imports are most of a cold
sandbox's CPU, and a fork costs a fraction of a millisecond. The child then boots exactly
as a freshly started guest does (`boot.run`: setup frame, cgroups, uid, Landlock, seccomp,
before any untrusted code), in a new session, in its own work directory and environment.

Protocol on CONTROL_FD (a SOCK_SEQPACKET socket; one JSON request, one JSON reply):
- {"op": "spawn", "role", "cwd", "env", "argv0"} with the child's descriptors attached
  (requests IN, replies OUT, output, then the cgroup.procs descriptors):
  -> {"pid": PID, "fds": [the descriptors' numbers in the child]};
- {"op": "reap", "pid": PID} -> {"status": exit code, or minus the signal}. The server
  never reaps on its own: until the parent asks, a dead child stays a zombie, so its pid
  (and group id) cannot be reused while the parent may still signal it.
End of file on CONTROL_FD: the parent is gone; so is this server (and, through their own
parent-death signal, the confined children).

What a forked child shares with its siblings, unlike started ones: the interpreter's
address layout and its string-hash key. Neither is a secret between sandboxes (they all
hold code from the same kind of source). The hash key is why the parent runs two servers:
the determinism check compares a tool across two different keys.
"""

from __future__ import annotations

import _socket
import gc
import json
import os
import sys

import boot
import confine
import runner  # noqa: F401 - imported here so that every child has it ready
import wire  # noqa: F401
import worker

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_PR_SET_PDEATHSIG = 1
_SIGKILL = 9
_MAX_FDS = 16


def serve(control_fd: int, parent_pid: int, guest_dir: str) -> int:
    # Die with the parent's starting thread, as every guest does.
    confine._c().prctl(_PR_SET_PDEATHSIG, _SIGKILL, 0, 0, 0)
    if os.getppid() != parent_pid:
        return 70
    confine.keep_session_keyring_for_children()
    # What each guest's interpreter does once before "ready" (its first compile() builds
    # the AST types), done here once for every child.
    compile("", worker.TOOL_FILE, "exec", dont_inherit=True)
    # The collector of a child then never walks (and so never copies) what it inherited.
    gc.collect()
    gc.freeze()
    control = _socket.socket(fileno=control_fd)
    while True:
        try:
            data, fds = _receive(control)
        except OSError:
            return 0
        if not data:
            return 0
        try:
            request = json.loads(data)
            if request.get("op") == "spawn":
                reply = _spawn(control, request, fds, guest_dir)
            elif request.get("op") == "reap":
                _pid, status = os.waitpid(int(request["pid"]), 0)
                reply = {"status": os.waitstatus_to_exitcode(status)}
            else:
                reply = {"error": f"unknown request {request.get('op')!r}"}
        except (OSError, ValueError, KeyError, TypeError) as exc:
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        finally:
            for fd in fds:
                os.close(fd)  # the child has its copies; the parent closed its own
        control.send(json.dumps(reply).encode())


def _receive(control: _socket.socket) -> tuple[bytes, list[int]]:
    """One request and the descriptors that came with it. `_socket`, not `socket`: the
    latter's enums cost every child a megabyte of memory, and its forks the time to copy
    it."""
    data, ancillary, _flags, _addr = control.recvmsg(1 << 16, _socket.CMSG_SPACE(_MAX_FDS * 4))
    fds: list[int] = []
    for level, kind, payload in ancillary:
        if level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS:
            fds += [int.from_bytes(payload[i:i + 4], sys.byteorder, signed=True)
                    for i in range(0, len(payload) - len(payload) % 4, 4)]
    return data, fds


def _spawn(control: _socket.socket, request: dict[str, Any], fds: list[int],
           guest_dir: str) -> dict[str, Any]:
    role = str(request["role"])
    if role not in ("worker", "runner") or len(fds) < 3:
        raise ValueError("a spawn needs a role and three descriptors")
    pid = os.fork()
    if pid == 0:
        code = 70
        try:
            control.close()
            code = _child(role, request, fds, guest_dir)
        except BaseException as exc:  # reported on the sandbox's output, which the parent reads
            try:
                os.write(2, f"sandbox: the forked guest failed to boot: {exc!r}\n".encode())
            except OSError:
                pass
        finally:
            os._exit(code)
    return {"pid": pid, "fds": fds}


def _child(role: str, request: dict[str, Any], fds: list[int], guest_dir: str) -> int:
    rfd, wfd, output = fds[0], fds[1], fds[2]
    os.setsid()  # a session and process group of its own, like a started guest
    os.dup2(output, 1)
    os.dup2(output, 2)
    os.close(output)
    os.chdir(str(request["cwd"]))
    os.environ.clear()  # through putenv/unsetenv: the C environment follows
    os.environ.update({str(k): str(v) for k, v in dict(request["env"]).items()})
    sys.argv[:] = [str(request.get("argv0") or sys.argv[0]), role, str(rfd), str(wfd)]
    return boot.run(role, rfd, wfd, guest_dir)

