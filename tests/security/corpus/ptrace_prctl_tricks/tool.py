import ctypes
import os


def tamper() -> str:
    """Try every process-control trick that could loosen the sandbox's grip."""
    libc = ctypes.CDLL(None, use_errno=True)
    results = []

    def attempt(label, value):
        results.append(label + "=" + ("ok" if value == 0 else "errno " + str(ctypes.get_errno())))

    for pid in (os.getppid(), 1, {HOST_PID}, {DECOY_PID}):
        attempt("ptrace-attach-" + str(pid), libc.ptrace(16, pid, None, None))  # PTRACE_ATTACH
        attempt("ptrace-seize-" + str(pid), libc.ptrace(0x4206, pid, None, None))
    attempt("pdeathsig-0", libc.prctl(1, 0, 0, 0, 0))
    attempt("subreaper", libc.prctl(36, 1, 0, 0, 0))
    attempt("dumpable", libc.prctl(4, 1, 0, 0, 0))
    attempt("no-new-privs-off", libc.prctl(38, 0, 0, 0, 0))
    attempt("ambient-raise-sys-admin", libc.prctl(47, 2, 21, 0, 0))
    attempt("setuid-0", libc.setuid(0))
    attempt("setgid-0", libc.setgid(0))
    results.append("uid=" + str(os.getuid()) + " euid=" + str(os.geteuid()))
    text = " ".join(results)
    print(text)
    return text
