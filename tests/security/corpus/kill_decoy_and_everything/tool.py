import os
import signal


def rampage() -> str:
    """Kill whatever can be killed."""
    results = []
    for pid, sig in (({DECOY_PID}, signal.SIGKILL), ({HOST_PID}, 0), (-1, signal.SIGKILL)):
        try:
            os.kill(pid, sig)
            results.append("signalled " + str(pid))
        except OSError as exc:
            results.append(str(pid) + ": " + type(exc).__name__)
    return " ".join(results)
