"""A running cycle's lease on the failures it claimed, kept alive on a thread of its own.

The cycle log records who holds a cycle (`host:pid`) and until when. While the cycle runs,
:class:`LeaseKeeper` renews the lease every third of its length, writing the cycle's spend
so far with it: a process that dies (SIGKILL, power loss) stops renewing, and once the
lease has run out the next look at the unhandled failures aborts the cycle with that spend
and gives its failures back (`TrajectoryStore.reclaim_expired`).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any

from toolforge.errors import ToolforgeError

if TYPE_CHECKING:
    from toolforge.evolve.triggers import CycleLog

log = logging.getLogger(__name__)


def lease_holder() -> str:
    """Who holds a lease taken by this process."""
    return f"{socket.gethostname()}:{os.getpid()}"


def lease_seconds() -> float:
    """`[evolution] lease_s` of the user config."""
    from toolforge.deploy.settings import load_deploy_settings

    return load_deploy_settings().evolution.lease_s


class LeaseKeeper:
    """Renews `cycle_id`'s lease until stopped; `lost` once it could not (the cycle was
    aborted by someone who saw its lease run out)."""

    def __init__(self, cycles: CycleLog, cycle_id: str, holder: str, lease_s: float,
                 spend: Callable[[], Any], on_lost: Callable[[], None] = lambda: None
                 ) -> None:
        self.cycles = cycles
        self.cycle_id = cycle_id
        self.holder = holder
        self.lease_s = lease_s
        self.spend = spend
        self.on_lost = on_lost  # e.g. stop the cycle: its failures went back
        self.lost = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cycle-lease", daemon=True)

    def __enter__(self) -> LeaseKeeper:
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def stop(self) -> None:
        """No more renewals (the cycle is ending); waits for a renewal in progress."""
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.wait(self.lease_s / 3):
            try:
                if not self.cycles.renew(self.cycle_id, self.holder, self.lease_s,
                                         self.spend()):
                    self.lost = True
                    log.warning("cycle %s lost its lease (it was not renewed in time) and "
                                "was aborted: it stops", self.cycle_id[:12])
                    self.on_lost()
                    return
            except ToolforgeError as exc:  # a locked db: try again at the next beat
                log.warning("could not renew the lease of cycle %s: %s", self.cycle_id[:12],
                            exc.message)
            except Exception:  # the heartbeat must outlive one bad write
                log.exception("could not renew the lease of cycle %s", self.cycle_id[:12])
