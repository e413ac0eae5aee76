"""Your deployment settings: the `[evolution]`, `[queue]` and `[sync]` tables of the user
config (`toolforge.config.user` reads and checks the file; these are the tables' models).

They belong to the person running toolforge, never to a library: a library must not decide
how much of your money evolution spends, where your agents' runs go, or a queue's password.
Environment: `TOOLFORGE_QUEUE` sets `queue.url` (as `--queue` does for one command).
"""

from __future__ import annotations

import os

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from toolforge.errors import ConfigError

QUEUE_ENV = "TOOLFORGE_QUEUE"


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EvolutionSettings(_Table):
    """`[evolution]`: the background worker and what it may spend. 0 = no limit."""

    worker: bool = True  # the daemon runs cycles from reported runs
    tokens_per_hour: int = Field(default=0, ge=0)
    tokens_per_day: int = Field(default=0, ge=0)
    usd_per_hour: float = Field(default=0.0, ge=0.0, allow_inf_nan=False)
    usd_per_day: float = Field(default=0.0, ge=0.0, allow_inf_nan=False)
    # On top of the library's own `[evolve] max_cycles_per_hour`: the lower one applies.
    max_cycles_per_hour: int = Field(default=0, ge=0)
    # A model outage pauses evolution this long, doubling while it lasts, up to the max.
    pause_s: float = Field(default=60.0, gt=0.0, le=86_400.0)
    max_pause_s: float = Field(default=1800.0, gt=0.0, le=86_400.0)
    poll_s: float = Field(default=2.0, gt=0.0, le=3600.0)  # how often the worker looks
    curate_daily: bool = False  # the daemon runs the curator once a day
    # A running cycle renews its hold on the failures it claimed this often (a third of
    # it); a cycle whose process died gives them back once its lease runs out.
    lease_s: float = Field(default=180.0, ge=1.0, le=86_400.0)


class QueueSettings(_Table):
    """`[queue]`: trajectories through a shared log (Redis Streams) instead of this
    machine's SQLite store."""

    url: str | None = None  # redis://[user:password@]host:port/db ; unset: the local store
    stream: str | None = None  # default: toolforge:<library id>:trajectories
    group: str = Field(default="toolforge-workers", min_length=1, max_length=200)
    consumer: str | None = Field(default=None, min_length=1, max_length=200)
    # Entries a worker has held this long without renewing them (a dead worker's) are
    # claimed by another worker.
    claim_idle_s: float = Field(default=60.0, ge=1.0, le=86_400.0)
    batch: int = Field(default=100, ge=1, le=10_000)
    # How long the worker keeps its record of who acknowledged what (for recovery).
    retention_days: float = Field(default=7.0, gt=0.0, le=365.0)

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, v: str | None) -> str | None:
        if v is None or not v.strip():
            return None
        if not v.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must be a redis://, rediss:// or unix:// URL")
        return v


class SyncSettings(_Table):
    """`[sync]`: how this clone follows the shared remote."""

    # 0: only on demand (`toolforge sync`); else the daemon syncs this often.
    interval_s: float = Field(default=0.0, ge=0.0, le=86_400.0)
    # An agent's clone: only move forward to the remote's head, never publish.
    read_only: bool = False


class DeploySettings(_Table):
    evolution: EvolutionSettings = Field(default_factory=EvolutionSettings)
    queue: QueueSettings = Field(default_factory=QueueSettings)
    sync: SyncSettings = Field(default_factory=SyncSettings)
    path: str | None = None  # the user config file they came from (None: defaults)


def load_deploy_settings() -> DeploySettings:
    """The deployment tables of the user config (read and checked by
    `toolforge.config.user`), with TOOLFORGE_QUEUE."""
    from toolforge.config.user import load_user_config

    loaded = load_user_config()
    config = loaded.config
    settings = DeploySettings(evolution=config.evolution, queue=config.queue,
                              sync=config.sync, path=str(loaded.path) if loaded.exists
                              else None)
    queue_url = os.environ.get(QUEUE_ENV, "").strip()
    if queue_url:
        settings = settings.model_copy(update={"queue": _queue_with_url(settings.queue,
                                                                          queue_url)})
    return settings


def with_queue(settings: DeploySettings, url: str | None) -> DeploySettings:
    """`settings` with the queue URL a command was given (`--queue`)."""
    if not url:
        return settings
    return settings.model_copy(update={"queue": _queue_with_url(settings.queue, url)})


def _queue_with_url(queue: QueueSettings, url: str) -> QueueSettings:
    try:
        return QueueSettings.model_validate({**queue.model_dump(), "url": url})
    except ValidationError as exc:
        from toolforge.urls import public_url

        raise ConfigError(f"queue URL {public_url(url)!r}: {exc.errors()[0]['msg']}",
                          hint="e.g. redis://localhost:6379/0") from None
