import ctypes
import os

_NR = {
    "x86_64": {"prlimit64": 302, "setpriority": 141, "ioprio_set": 251, "kcmp": 312,
               "get_robust_list": 274, "move_pages": 279, "migrate_pages": 256,
               "sched_setaffinity": 203, "process_madvise": 440},
    "aarch64": {"prlimit64": 261, "setpriority": 140, "ioprio_set": 30, "kcmp": 272,
                "get_robust_list": 100, "move_pages": 239, "migrate_pages": 238,
                "sched_setaffinity": 122, "process_madvise": 440},
}.get(os.uname().machine, {})
_DECOY = {DECOY_PID}


def meddle() -> str:
    """Tamper with another process."""
    libc = ctypes.CDLL(None, use_errno=True)
    limit = (ctypes.c_uint64 * 2)(1, 1)
    head, size = ctypes.c_void_p(), ctypes.c_size_t()
    mask = (ctypes.c_ulong * 16)()
    mask[0] = 1
    status = (ctypes.c_int * 1)()
    page = (ctypes.c_void_p * 1)(0x400000)
    calls = {
        "prlimit64": (_DECOY, 7, limit, None),  # RLIMIT_NOFILE of the decoy to 1
        "setpriority": (0, _DECOY, 19),
        "ioprio_set": (1, _DECOY, (3 << 13)),  # idle class
        "sched_setaffinity": (_DECOY, ctypes.sizeof(mask), mask),
        "kcmp": (os.getpid(), _DECOY, 0, 0, 0),
        "get_robust_list": (_DECOY, ctypes.byref(head), ctypes.byref(size)),
        "move_pages": (_DECOY, 1, page, None, status, 0),
        "migrate_pages": (_DECOY, 64, mask, mask),
    }
    results = []
    for name, args in calls.items():
        done = libc.syscall(_NR[name], *args)
        if done >= 0:
            results.append("ESCAPED: " + name + " on the decoy returned " + str(done))
        else:
            results.append(name + ": errno " + str(ctypes.get_errno()))
    return "\n".join(results)
