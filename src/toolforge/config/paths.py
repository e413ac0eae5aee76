"""Where each kind of state lives (`toolforge paths`): the library and its git-ignored
state, the daemon's runtime files, logs and the user config. Nothing here creates a file."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from toolforge.library.discovery import SETTINGS_FILE, is_library, locate_library


class PathEntry(BaseModel):
    path: str | None  # None when it cannot be determined here (see `description`)
    exists: bool
    description: str


class PathsResult(BaseModel):
    library: str
    library_found_by: str  # --library | TOOLFORGE_LIBRARY | current/enclosing directory | ...
    is_library: bool
    paths: dict[str, PathEntry]


def state_paths(explicit_library: Path | str | None = None) -> PathsResult:
    from toolforge.cli.errors import log_path
    from toolforge.config.user import CONFIG_ENV, user_config_path
    from toolforge.daemon.errors import DaemonError
    from toolforge.daemon.runtime import daemon_paths
    from toolforge.evolve.trajectories import STATE_DB
    from toolforge.library.store import STATE_DIR
    from toolforge.metrics.usage import USAGE_DB
    from toolforge.validation.report import REPORTS_DB

    where = locate_library(explicit_library)
    root = where.path
    state = root / STATE_DIR
    entries: dict[str, tuple[Path | None, str]] = {
        "library": (root, "the tool library: a git repository, one directory per tool"),
        "settings": (root / SETTINGS_FILE, "the library's settings, committed with it"),
        "state_dir": (state, "local state beside the library, ignored by git"),
        "reports": (state / REPORTS_DB, "validation reports (SQLite)"),
        "trajectories": (state / STATE_DB, "trajectories and evolution cycles (SQLite)"),
        "usage": (state / USAGE_DB, "tool-call usage records (SQLite)"),
    }
    try:
        daemon = daemon_paths(root)
        entries.update({
            "daemon_runtime_dir": (daemon.runtime_dir, "private per-user directory of daemon "
                                   "sockets and status files (XDG_RUNTIME_DIR)"),
            "daemon_socket": (daemon.socket, "this library's daemon socket"),
            "daemon_status": (daemon.status, "this library's daemon status file"),
            "daemon_jobs": (daemon.jobs_db, "the daemon's job records (SQLite)"),
            "daemon_log": (daemon.log, "the daemon's log (`toolforge daemon logs`)"),
        })
    except DaemonError as exc:
        entries["daemon_runtime_dir"] = (None, f"unavailable: {exc.message}")
    entries["cli_log"] = (log_path(), "tracebacks of internal errors (TOOLFORGE_LOG_DIR)")
    entries["user_config"] = (user_config_path(), f"your own settings ({CONFIG_ENV} names "
                              "another file); never part of a library")
    return PathsResult(
        library=str(root), library_found_by=where.found_by, is_library=is_library(root),
        paths={kind: PathEntry(path=str(p) if p is not None else None,
                               exists=p is not None and p.exists(), description=text)
               for kind, (p, text) in entries.items()})
