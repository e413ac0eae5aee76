import ctypes
import fcntl
import os
import signal

_NR = {
    "x86_64": {"tkill": 200, "tgkill": 234, "rt_sigqueueinfo": 129, "pidfd_open": 434,
               "pidfd_send_signal": 424},
    "aarch64": {"tkill": 130, "tgkill": 131, "rt_sigqueueinfo": 138, "pidfd_open": 434,
                "pidfd_send_signal": 424},
}.get(os.uname().machine, {})
_DECOY = {DECOY_PID}


def _sigio(results):
    try:
        read, write = os.pipe()
        fcntl.fcntl(read, fcntl.F_SETOWN, _DECOY)
        fcntl.fcntl(read, 10, signal.SIGKILL)  # F_SETSIG
        flags = fcntl.fcntl(read, fcntl.F_GETFL)
        fcntl.fcntl(read, fcntl.F_SETFL, flags | os.O_ASYNC)
        os.write(write, b"x")
        results.append("sigio: armed")
    except OSError as exc:
        results.append("sigio: " + type(exc).__name__)


def murder() -> str:
    """Signal a process outside the sandbox."""
    libc = ctypes.CDLL(None, use_errno=True)
    info = ctypes.create_string_buffer(128)
    results = []
    attempts = [
        ("kill", lambda: os.kill(_DECOY, signal.SIGKILL)),
        ("tgkill", lambda: libc.syscall(_NR["tgkill"], _DECOY, _DECOY, signal.SIGKILL)),
        ("tkill", lambda: libc.syscall(_NR["tkill"], _DECOY, signal.SIGKILL)),
        ("rt_sigqueueinfo", lambda: libc.syscall(_NR["rt_sigqueueinfo"], _DECOY,
                                                 signal.SIGKILL, info)),
    ]
    for name, attempt in attempts:
        try:
            done = attempt()
        except OSError as exc:
            results.append(name + ": " + type(exc).__name__)
            continue
        if done in (None, 0):
            results.append("ESCAPED: " + name + " signalled the decoy")
        else:
            results.append(name + ": errno " + str(ctypes.get_errno()))
    pidfd = libc.syscall(_NR["pidfd_open"], _DECOY, 0)
    if pidfd >= 0 and libc.syscall(_NR["pidfd_send_signal"], pidfd, signal.SIGKILL, None,
                                   0) == 0:
        results.append("ESCAPED: pidfd_send_signal signalled the decoy")
    results.append("pidfd: " + str(pidfd) + " errno " + str(ctypes.get_errno()))
    _sigio(results)  # if SIGIO reaches it, the test sees the decoy dead
    return "\n".join(results)
