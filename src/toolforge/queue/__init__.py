"""Trajectories across machines: the log agents append runs to and workers read from.

Without a queue (the default) runs go straight into the library's SQLite store and the
daemon of that machine evolves from them. With `--queue redis://...` (or `[queue] url` in
the user config, or TOOLFORGE_QUEUE) every route appends to a shared log instead and the
workers' daemons consume it as one group. See `base.TrajectoryLog` for the interface
another log (NATS JetStream, SQS) would implement.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import TYPE_CHECKING

from toolforge.queue.base import LogEntry, LogStats, TrajectoryLog

if TYPE_CHECKING:
    from toolforge.deploy.settings import QueueSettings

__all__ = ["LogEntry", "LogStats", "TrajectoryLog", "consumer_name", "open_log",
           "stream_name"]


def stream_name(settings: QueueSettings, library_id: str) -> str:
    """The library's stream: the same on every clone (named after its first commit)."""
    return settings.stream or f"toolforge:{{{library_id[:16]}}}:trajectories"


def consumer_name(settings: QueueSettings, root: Path) -> str:
    """This worker's name in the group: stable across restarts, so a worker that comes
    back takes its own pending entries first."""
    if settings.consumer:
        return settings.consumer
    from toolforge.daemon.runtime import library_key

    return f"{socket.gethostname()}:{library_key(root)}"


def open_log(settings: QueueSettings, library_id: str) -> TrajectoryLog:
    """The configured log (ConfigError when none is, or its client is missing)."""
    from toolforge.errors import ConfigError

    url = settings.url
    if not url:
        raise ConfigError("no queue is configured",
                          hint="pass --queue redis://HOST:6379/0, or set [queue] url in the "
                               "user config (or TOOLFORGE_QUEUE)")
    from toolforge.queue.redis_streams import RedisStreamLog

    return RedisStreamLog(url, stream_name(settings, library_id), settings.group,
                          retention_s=settings.retention_days * 86_400)
