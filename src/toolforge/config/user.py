"""The user config: settings that belong to the person running toolforge, never to a library.

`~/.config/toolforge/config.toml` (the platformdirs user config dir; `TOOLFORGE_CONFIG`
names another file). It holds what a committed toolforge.toml must not choose: which model
and endpoint each role uses and which environment variable holds the key (`[llm]`), the
sandbox backend, the isolation opt-out and the resource limits (`[sandbox]`), and what a
library's `[policy]` may grant its tools (`[policy]`). Missing file = defaults.

The file decides where your API keys go, so it must be yours: a file owned by another user
or writable by others is refused, as ssh refuses such a config.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from toolforge.config.strict import read_toml, validate
from toolforge.deploy.settings import EvolutionSettings, QueueSettings, SyncSettings
from toolforge.errors import ConfigError
from toolforge.library.settings import SandboxSettings
from toolforge.safety.policy import SafetyPolicy

CONFIG_ENV = "TOOLFORGE_CONFIG"
CONFIG_FILE = "config.toml"


class UserConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # Parsed and checked by toolforge.llm.config.load_llm_settings (per-role tables).
    llm: dict[str, Any] = Field(default_factory=dict)
    # Your backend, opt-out and limits: the loosest any library gets.
    sandbox: SandboxSettings = Field(default_factory=SandboxSettings)
    # What libraries may grant their tools: a library's [policy] applies within this.
    policy: SafetyPolicy = Field(default_factory=SafetyPolicy)
    # The deployment (docs/deploy.md): what evolution may spend, where runs go across
    # machines, how a clone follows its shared remote.
    evolution: EvolutionSettings = Field(default_factory=EvolutionSettings)
    queue: QueueSettings = Field(default_factory=QueueSettings)
    sync: SyncSettings = Field(default_factory=SyncSettings)


@dataclass(frozen=True)
class LoadedUserConfig:
    config: UserConfig
    path: Path
    exists: bool

    @property
    def label(self) -> str:
        return f"user config {self.path}"


def user_config_dir() -> Path:
    from platformdirs import user_config_dir as _dir

    return Path(_dir("toolforge", appauthor=False))


def user_config_path() -> Path:
    override = os.environ.get(CONFIG_ENV, "").strip()
    if override:
        return Path(override).expanduser().absolute()
    return user_config_dir() / CONFIG_FILE


def load_user_config(path: Path | None = None) -> LoadedUserConfig:
    """The user config, checked strictly; defaults when the file does not exist."""
    path = path or user_config_path()
    if str(path) == os.devnull:  # TOOLFORGE_CONFIG=/dev/null: no user config at all
        return LoadedUserConfig(UserConfig(), path, exists=False)
    try:
        st = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        if os.environ.get(CONFIG_ENV, "").strip():
            raise ConfigError(f"{CONFIG_ENV} names {path}, which does not exist",
                              hint=f"create it, or unset {CONFIG_ENV} to use "
                              f"{user_config_dir() / CONFIG_FILE}")
        return LoadedUserConfig(UserConfig(), path, exists=False)
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}")
    _check_ownership(path, st)
    data = read_toml(path)
    config = validate(UserConfig, data, path,
                      hint="fix the file; docs/config.md lists every key of the user config")
    return LoadedUserConfig(config, path, exists=True)


def _check_ownership(path: Path, st: os.stat_result) -> None:
    me = os.getuid()
    if st.st_uid not in (me, 0):
        raise ConfigError(f"refusing to read {path}: it belongs to uid {st.st_uid}, not you",
                          hint="your user config decides where API keys are sent; use a file "
                          f"you own (or set {CONFIG_ENV})")
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise ConfigError(
            f"refusing to read {path}: other users can write it "
            f"(mode {stat.S_IMODE(st.st_mode):o})",
            hint=f"chmod go-w {path}")
