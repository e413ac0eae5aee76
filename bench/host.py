"""What the machine is like while a benchmark runs: printed beside its figures.

On a virtual machine, waking a process on an idle CPU is decided by the host, and its cost
moves with the host's load (this 2-core machine measured 4-180 us for the round trip
below, hours apart). A warm validation is some eighty such wake-ups and a busy host takes
CPU time the guest cannot see, so its figures are only comparable at a similar floor.
"""

from __future__ import annotations

import os
import time


def pipe_round_trip(rounds: int = 2000) -> float:
    """Microseconds for one byte to another process and its answer, over pipes."""
    ask_read, ask_write = os.pipe()
    answer_read, answer_write = os.pipe()
    pid = os.fork()
    if pid == 0:
        while os.read(ask_read, 1) == b"?":
            os.write(answer_write, b"!")
        os._exit(0)
    started = time.perf_counter()
    for _ in range(rounds):
        os.write(ask_write, b"?")
        os.read(answer_read, 1)
    elapsed = time.perf_counter() - started
    os.write(ask_write, b"q")
    os.waitpid(pid, 0)
    for fd in (ask_read, ask_write, answer_read, answer_write):
        os.close(fd)
    return elapsed / rounds * 1e6


def describe() -> str:
    """One line: CPUs, load average and the wake-up floor."""
    return (f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}, pipe round trip "
            f"to another process {pipe_round_trip():.1f} us")
