"""Your deployment settings: the `[evolution]`, `[queue]` and `[sync]` tables of the user
config file (`TOOLFORGE_CONFIG`, else `config.toml` in the platformdirs user config dir).

They belong to the person running toolforge, never to a library: a library must not decide
how much of your money evolution spends, where your agents' runs go, or a queue's password.
Other tables of the same file belong to other parts of toolforge and are not read here.
Every key is checked; a mistake names the file and the key. A missing file means defaults.
Environment: `TOOLFORGE_QUEUE` sets `queue.url` (as `--queue` does for one command).
"""

from __future__ import annotations

import os
import stat
import threading
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from toolforge.errors import ConfigError

CONFIG_ENV = "TOOLFORGE_CONFIG"
QUEUE_ENV = "TOOLFORGE_QUEUE"
CONFIG_FILE = "config.toml"
DOCS = "docs/config.md#deployment"


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
    model_config = ConfigDict(extra="ignore")  # the file's other tables are not ours

    evolution: EvolutionSettings = Field(default_factory=EvolutionSettings)
    queue: QueueSettings = Field(default_factory=QueueSettings)
    sync: SyncSettings = Field(default_factory=SyncSettings)
    path: str | None = None  # the file they came from (None: defaults)


def config_path() -> Path:
    override = os.environ.get(CONFIG_ENV, "").strip()
    if override:
        return Path(override).expanduser().absolute()
    from platformdirs import user_config_dir

    return Path(user_config_dir("toolforge", appauthor=False)) / CONFIG_FILE


_cache: dict[str, tuple[tuple[int, int, int], DeploySettings]] = {}
_cache_lock = threading.Lock()


def load_deploy_settings(path: Path | None = None) -> DeploySettings:
    """The deployment settings (re-read when the file changes), with TOOLFORGE_QUEUE."""
    settings = _load_file(path or config_path())
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
        raise ConfigError(f"queue URL {url!r}: {exc.errors()[0]['msg']}",
                          hint="e.g. redis://localhost:6379/0") from None


def _load_file(path: Path) -> DeploySettings:
    if str(path) == os.devnull:
        return DeploySettings()
    try:
        st = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        if os.environ.get(CONFIG_ENV, "").strip():
            raise ConfigError(f"{CONFIG_ENV} names {path}, which does not exist",
                              hint=f"create it, or unset {CONFIG_ENV}")
        return DeploySettings()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}")
    key = (st.st_ino, st.st_size, st.st_mtime_ns)
    with _cache_lock:
        cached = _cache.get(str(path))
        if cached is not None and cached[0] == key:
            return cached[1]
    _check_owner(path, st)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}")
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}", hint=f"see {DOCS}")
    settings = _validate(data, path)
    with _cache_lock:
        _cache[str(path)] = (key, settings)
    return settings


def _validate(data: dict[str, Any], path: Path) -> DeploySettings:
    tables = {k: data[k] for k in ("evolution", "queue", "sync") if k in data}
    for name, value in tables.items():
        if not isinstance(value, dict):
            raise ConfigError(f"{path}: [{name}] must be a table", hint=f"see {DOCS}")
    try:
        settings = DeploySettings.model_validate(tables)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        msg = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        raise ConfigError(f"{path}: {where}: {msg}", hint=f"see {DOCS}") from None
    return settings.model_copy(update={"path": str(path)})


def _check_owner(path: Path, st: os.stat_result) -> None:
    """The file decides where runs go and what is spent: it must be yours (as ssh insists
    on for its config)."""
    if st.st_uid not in (os.getuid(), 0):
        raise ConfigError(f"refusing to read {path}: it belongs to uid {st.st_uid}, not you",
                          hint=f"use a file you own (or set {CONFIG_ENV})")
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise ConfigError(f"refusing to read {path}: other users can write it "
                          f"(mode {stat.S_IMODE(st.st_mode):o})", hint=f"chmod go-w {path}")
