"""start / stop / status of a library's daemon (what `toolforge daemon ...` does)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from toolforge.daemon.client import DaemonClient, start_daemon_process
from toolforge.daemon.errors import DaemonError
from toolforge.daemon.models import Health
from toolforge.daemon.runtime import (
    clean_stale,
    daemon_paths,
    lock_held,
    pid_alive,
    read_status,
)
from toolforge.errors import ToolforgeError

STOP_TIMEOUT_S = 20.0  # running jobs get 10 s to wind down; then the process exits
TERM_TIMEOUT_S = 5.0


class DaemonStatus(BaseModel):
    library: str
    running: bool
    pid: int | None = None
    socket: str
    log: str
    status_file: dict[str, Any] | None = None
    health: Health | None = None
    stale_cleaned: dict[str, Any] | None = None


class StartResult(BaseModel):
    started: bool
    health: Health


class DaemonInfo(BaseModel):
    library: str
    pid: int | None = None
    version: str | None = None
    started_at: str | None = None
    socket: str | None = None
    running: bool  # it holds its lock
    answering: bool  # and it answered /v1/health


class StopResult(BaseModel):
    was_running: bool
    pid: int | None = None
    how: str = "not running"  # shutdown | SIGTERM | SIGKILL | not running
    stale_cleaned: dict[str, Any] | None = None


def status(root: Path) -> DaemonStatus:
    paths = daemon_paths(root)
    with DaemonClient(root, paths) as client:
        health = client.try_health()
    stale = None if health is not None else clean_stale(paths)
    doc = read_status(paths)
    return DaemonStatus(
        library=str(root), running=health is not None,
        pid=health.pid if health else (doc or {}).get("pid"),
        socket=str(paths.socket), log=str(paths.log), status_file=doc, health=health,
        stale_cleaned=stale,
    )


def list_daemons() -> list[DaemonInfo]:
    """Every daemon of this user, found by the status files in the runtime directories
    (wherever XDG_RUNTIME_DIR pointed when each started). Files of dead ones are removed."""
    from toolforge.daemon.runtime import DaemonPaths, runtime_dirs

    found: list[DaemonInfo] = []
    for runtime_dir in runtime_dirs():
        try:
            status_files = sorted(runtime_dir.glob("*.json"))
        except OSError:
            continue
        for status_file in status_files:
            paths = DaemonPaths(Path("/"), runtime_dir, status_file.stem)
            doc = read_status(paths) or {}
            library = Path(str(doc.get("library") or "?"))
            paths = DaemonPaths(library, runtime_dir, status_file.stem)
            if not lock_held(paths):
                clean_stale(paths)
                continue
            health = None
            if library.is_absolute():
                with DaemonClient(library, paths, autostart=False) as client:
                    health = client.try_health()
            found.append(DaemonInfo(
                library=str(library), pid=doc.get("pid"), version=doc.get("version"),
                started_at=doc.get("started_at"), socket=str(paths.socket), running=True,
                answering=health is not None))
    return found


def start(root: Path) -> StartResult:
    with DaemonClient(root) as client:
        health = client.try_health()
        if health is not None:
            return StartResult(started=False, health=health)
        doc, proc = start_daemon_process(client)
    health = Health.model_validate(doc)
    return StartResult(started=health.pid == proc.pid, health=health)


def stop(root: Path, timeout_s: float = STOP_TIMEOUT_S) -> StopResult:
    """Graceful: POST /v1/shutdown and wait for the daemon to let go of its lock; SIGTERM,
    then SIGKILL, when it does not."""
    paths = daemon_paths(root)
    with DaemonClient(root, paths) as client:
        health = client.try_health()
        if health is None and not lock_held(paths):
            return StopResult(was_running=False, stale_cleaned=clean_stale(paths))
        pid = health.pid if health else (read_status(paths) or {}).get("pid")
        how = "shutdown"
        if health is not None:
            try:
                client.shutdown()
            except (ToolforgeError, OSError):
                how = "SIGTERM"
        else:
            how = "SIGTERM"
    if how == "shutdown" and _wait_unlocked(paths, timeout_s):
        return StopResult(was_running=True, pid=pid, how=how)
    for sig, wait_s in ((signal.SIGTERM, TERM_TIMEOUT_S), (signal.SIGKILL, TERM_TIMEOUT_S)):
        if not isinstance(pid, int) or not pid_alive(pid):
            break
        os.kill(pid, sig)
        how = sig.name
        if _wait_unlocked(paths, wait_s):
            break
    if lock_held(paths):
        raise DaemonError(f"the daemon (pid {pid}) did not stop", hint=f"see {paths.log}")
    clean_stale(paths)
    return StopResult(was_running=True, pid=pid, how=how)


def _wait_unlocked(paths: Any, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while lock_held(paths):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True
