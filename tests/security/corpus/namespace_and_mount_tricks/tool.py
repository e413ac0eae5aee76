import ctypes
import os


def tamper() -> str:
    """Try to rearrange namespaces and mounts."""
    libc = ctypes.CDLL(None, use_errno=True)
    results = []

    def attempt(label, value):
        results.append(label + "=" + ("ok" if value == 0 else "errno " + str(ctypes.get_errno())))

    attempt("unshare-user", libc.unshare(0x10000000))
    attempt("unshare-mount", libc.unshare(0x00020000))
    attempt("unshare-net", libc.unshare(0x40000000))
    for kind in ("mnt", "net", "pid", "user"):
        for pid in ("1", "{HOST_PID}"):
            try:
                fd = os.open("/proc/" + pid + "/ns/" + kind, os.O_RDONLY)
                attempt("setns-" + pid + "-" + kind, libc.setns(fd, 0))
                os.close(fd)
            except OSError as exc:
                results.append("setns-" + pid + "-" + kind + "=" + type(exc).__name__)
    attempt("mount-tmpfs", libc.mount(b"none", b"/", b"tmpfs", 0, None))
    attempt("remount-rw", libc.mount(b"none", b"/", None, 32 | 4096, None))
    attempt("chroot", libc.chroot(b".."))
    attempt("pivot-root", libc.syscall(155, b".", b"."))
    text = " ".join(results)
    print(text)
    return text
