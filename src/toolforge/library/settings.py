"""`toolforge.toml`: library-wide settings, committed with the library.

The file is data from whoever wrote the library (a colleague, `git clone`, `init --from`),
so it is read strictly (an unknown key or a bad value is an error naming the key and the
file) and only some of what it says applies as written:

- library keys (promotion, capacity, triggers, hand edits) apply as written;
- `[sandbox]` and `[policy]` apply only where they are at least as strict as the user's own
  settings (the user config, the environment, the command line): a library can ask for a
  stronger backend or lower limits, never a weaker backend, higher limits, a switched-off
  attack, or permissions the user did not grant;
- `[llm]` and `[sandbox] allow_unisolated` belong to the user alone: a library never picks
  a model, an endpoint or an API key, and never waives isolation.

How the two sides combine is `toolforge.config.effective`; docs/config.md is the reference.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from toolforge.config.strict import parse_toml, validate
from toolforge.errors import LibraryError, NotFoundError
from toolforge.library.discovery import SETTINGS_FILE as SETTINGS_FILE
from toolforge.safety.policy import SafetyPolicy
from toolforge.sandbox.limits import Limits

FORMAT_VERSION = 1

# Every backend name a settings file may use; "auto" takes the most isolating that works.
BackendName = Literal["auto", "bwrap", "landlock", "rlimit"]


class SandboxSettings(Limits):
    """The `[sandbox]` table, in toolforge.toml and in the user config alike: the backend,
    the property attack switch, the isolation opt-out, and every resource limit of `Limits`
    (inherited, so a new limit is a settings key at once)."""

    backend: BackendName = "auto"
    fuzz: bool = Field(default=True, description="run the property attack during validation")
    allow_unisolated: bool = Field(
        default=False, description="accept validations run without an isolating sandbox "
        "(user config only)")

    def limits(self) -> Limits:
        return Limits.model_validate(self.model_dump(include=set(Limits.model_fields)))


class EvolveSettings(BaseModel):
    """The `[evolve]` table: when evolution cycles start (see docs/tasks.md#triggers)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    plateau_window: int = Field(default=10, ge=1)
    plateau_min_improvement: float = Field(default=0.05, ge=0.0)
    max_cycles_per_hour: int = Field(default=3, ge=0)


class TrialSettings(BaseModel):
    """The `[trials]` table: defaults of the library's A/B trials (docs/evolve.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    share: float = Field(default=0.2, gt=0.0, lt=1.0)
    episodes: int = Field(default=50, ge=2, le=1_000_000)
    min_per_arm: int = Field(default=5, ge=1)
    min_improvement: float = Field(default=0.0, ge=0.0, le=1.0)
    confidence: float = Field(default=0.9, ge=0.5, lt=1.0)
    # Evolution puts new versions of active tools on trial instead of promoting them
    # (with `promotion = "auto"`).
    auto: bool = False


class CuratorSettings(BaseModel):
    """The `[curator]` table: when unused tools go stale, then retire (docs/library.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    stale_after_days: float = Field(default=30.0, gt=0.0)
    retire_after_days: float = Field(default=90.0, gt=0.0)

    @model_validator(mode="after")
    def _order(self) -> CuratorSettings:
        if self.retire_after_days < self.stale_after_days:
            raise ValueError("retire_after_days must be at least stale_after_days")
        return self
class DaemonSettings(BaseModel):
    """`[daemon]`: how the library's daemon behaves (docs/daemon.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Seconds without any use after which the daemon stops itself; 0: never.
    # TOOLFORGE_DAEMON_IDLE_TIMEOUT overrides it.
    idle_timeout_s: float = Field(default=1800.0, ge=0)


class TteSettings(BaseModel):
    """`[tte]`: test-time tool evolution (docs/tte.md). The library's `capacity` is its C."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Retrieval hit when a tool's score >= tau_ret; a new tool is refused as a duplicate
    # when its similarity (text + behaviour) to an existing one >= tau_dup.
    # Defaults: `toolforge calibrate` on the bundled pairs (src/toolforge/tte/data/pairs.jsonl).
    tau_ret: float = Field(default=0.5, ge=0.0, le=1.0)
    tau_dup: float = Field(default=0.75, ge=0.0, le=1.0)
    top_k: int = Field(default=5, ge=1, le=50)  # tools retrieved per sub-goal
    attempts: int = Field(default=3, ge=1, le=10)  # R: tool calls per sub-goal, then reasoning
    max_subgoals: int = Field(default=8, ge=1, le=32)
    split: bool = True  # ask for atomic cell tools after each synthesis


class LibrarySettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    format: int = Field(default=FORMAT_VERSION, ge=1)
    # Promotion policy: "review" keeps evolved candidates waiting for a person.
    promotion: Literal["auto", "review"] = "review"
    capacity: int = Field(default=200, ge=1)
    failure_threshold: int = Field(default=5, ge=1)
    reward_threshold: float = Field(default=0.5, ge=0.0, le=1.0)
    # What happens when someone edits a tool's files by hand: report only, or make a candidate.
    hand_edits: Literal["report", "candidate"] = "report"
    evolve: EvolveSettings = Field(default_factory=EvolveSettings)
    trials: TrialSettings = Field(default_factory=TrialSettings)
    curator: CuratorSettings = Field(default_factory=CuratorSettings)
    # What the library asks for; effective only within what the user grants.
    policy: SafetyPolicy = Field(default_factory=SafetyPolicy)
    sandbox: SandboxSettings = Field(default_factory=SandboxSettings)
    daemon: DaemonSettings = Field(default_factory=DaemonSettings)
    # Models, endpoints and keys are the user's: known here only so that a library's [llm]
    # table is refused by name (and dropped by `init --from`) instead of being an error.
    llm: dict[str, Any] = Field(default_factory=dict)
    tte: TteSettings = Field(default_factory=TteSettings)

    @field_validator("format")
    @classmethod
    def _known_format(cls, value: int) -> int:
        if value > FORMAT_VERSION:
            raise ValueError(f"this toolforge reads library format {FORMAT_VERSION}; upgrade "
                             "toolforge to use this library")
        return value


DEFAULT_SETTINGS_TOML = """\
# toolforge library settings, committed with the library (docs/config.md).
# Models, endpoints, API keys and isolation opt-outs are never set here: they live in your
# user config (`toolforge paths` shows where), the environment or the command line.
format = 1

# "review": candidates wait for a person (toolforge review / promote).
# "auto": candidates that pass validation are promoted at once.
promotion = "review"

# At most this many active tools; evolution refuses new tools past it.
capacity = 200

# Evolution triggers: this many failed runs (reward below reward_threshold) start a cycle.
failure_threshold = 5
reward_threshold = 0.5

# Hand edits to tool files: "report" them, or turn a valid edit into a new "candidate".
hand_edits = "report"

[policy]
# What this library's tools may do beyond the safe standard-library subset. Each grant
# applies only if your user config allows it too (docs/config.md#what-a-library-may-ask-for).
allowed_imports = []
allow_file_access = false
allow_network = false

[sandbox]
# A library may require a stronger backend than yours, or lower limits; never the reverse.
backend = "auto"   # auto | bwrap | landlock | rlimit

[tte]
# Test-time tool evolution (docs/tte.md); `toolforge calibrate --save` fits the thresholds.
tau_ret = 0.5    # a retrieved tool is reused when its score >= tau_ret
tau_dup = 0.75   # a new tool is refused when it duplicates one at similarity >= tau_dup
"""


def load_settings(root: Path) -> LibrarySettings:
    """The library's toolforge.toml, checked strictly: ConfigError naming the key and the
    file for anything unknown or invalid."""
    path = root / SETTINGS_FILE
    try:
        data = read_library_toml(path)
    except NotFoundError:
        raise LibraryError(f"{path} is missing", hint="run `toolforge init` to create a library")
    return parse_settings(data, path)


def read_library_toml(path: Path) -> dict[str, Any]:
    """A library's toolforge.toml, read as a file coming in (it came with the library: a
    clone can hold a symlink to ~/.aws/credentials or /dev/zero): a regular file under the
    source cap, UTF-8, then TOML. NotFoundError when there is none."""
    from toolforge.library.incoming import read_source

    return parse_toml(read_source(path, what=SETTINGS_FILE), path)


def parse_settings(data: dict[str, Any], path: Path | str) -> LibrarySettings:
    return validate(
        LibrarySettings, data, path,
        hint="fix the file (docs/config.md lists every key), or restore the committed one: "
        f"`git -C {Path(path).parent} checkout -- {SETTINGS_FILE}`",
    )


def set_table_values(text: str, table: str, values: dict[str, Any]) -> str:
    """`text` (a toolforge.toml) with keys of `[table]` set, comments and layout kept
    (tomlkit, as `init --from` edits the file); a missing table is added at the end."""
    import tomlkit

    document = tomlkit.parse(text)
    section = document.get(table)
    if section is None:
        section = tomlkit.table()
        document.add(table, section)
    for key, value in values.items():
        section[key] = value
    return tomlkit.dumps(document)
