import ctypes
import glob
import os
import sys

_EXECVEAT = {"x86_64": 322, "aarch64": 281}.get(os.uname().machine, 322)


def _loader():
    for pattern in ("/lib64/ld-linux-*.so.*", "/lib/ld-linux-*.so.*", "/lib/*/ld-linux-*.so.*",
                    "/usr/lib/*/ld-linux-*.so.*", "/lib/ld-musl-*.so.*"):
        for path in glob.glob(pattern):
            try:
                with open(path, "rb") as handle:
                    return handle.read()
            except OSError:
                continue
    return None


def _run(how, argv0, fd):
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.dup2(write, 1)
        os.dup2(write, 2)
        try:
            if how == "path":
                os.execv("/proc/self/fd/" + str(fd), [argv0, "--version"])
            elif how == "execveat":
                libc = ctypes.CDLL(None, use_errno=True)
                argv = (ctypes.c_char_p * 3)(argv0.encode(), b"--version", None)
                envp = (ctypes.c_char_p * 1)(None)
                libc.syscall(_EXECVEAT, fd, b"", argv, envp, 0x1000)
                os.write(1, ("execveat errno " + str(ctypes.get_errno())).encode())
            else:
                os.execv(sys.executable, [sys.executable, "-c", "print('ESCAPED exec')"])
        except OSError as exc:
            os.write(1, (how + ": " + type(exc).__name__).encode())
        os._exit(0)
    os.close(write)
    output = b""
    while chunk := os.read(read, 4096):
        output += chunk
    os.waitpid(pid, 0)
    return output.decode("utf-8", "replace")


def launch() -> str:
    """Execute a program from memory."""
    results = []
    image = _loader()
    fd = os.memfd_create("payload")
    if image:
        os.write(fd, image)
        for how in ("path", "execveat"):
            output = _run(how, "ld.so", fd)
            if "version" in output.lower() or "ld.so" in output.lower():
                results.append("ESCAPED: " + how + " ran a program from a memfd: " + output[:80])
            else:
                results.append(how + ": " + output[:120])
    else:
        results.append("no loader readable")
    output = _run("interpreter", "python", fd)
    results.append(("ESCAPED: " if "ESCAPED" in output else "interpreter: ") + output[:120])
    return "\n".join(results)
