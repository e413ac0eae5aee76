"""`toolforge.toml`: library-wide settings, committed with the library."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from toolforge.errors import LibraryError

SETTINGS_FILE = "toolforge.toml"
FORMAT_VERSION = 1


class LibrarySettings(BaseModel):
    model_config = ConfigDict(extra="allow")

    format: int = FORMAT_VERSION
    # Promotion policy: "review" keeps evolved candidates waiting for a person.
    promotion: Literal["auto", "review"] = "review"
    capacity: int = Field(default=200, ge=1)
    failure_threshold: int = Field(default=5, ge=1)
    reward_threshold: float = Field(default=0.5, ge=0.0, le=1.0)
    # What happens when someone edits a tool's files by hand: report only, or make a candidate.
    hand_edits: Literal["report", "candidate"] = "report"
    policy: dict[str, Any] = Field(default_factory=dict)  # static-check policy table
    sandbox: dict[str, Any] = Field(default_factory=dict)  # backend + limits table
    validation: dict[str, Any] = Field(default_factory=dict)  # the attack's budget
    llm: dict[str, Any] = Field(default_factory=dict)  # model per role


DEFAULT_SETTINGS_TOML = """\
# toolforge library settings. Every change to this file is a commit like any other.
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
# Extra top-level modules tools may import, beyond the safe standard-library subset.
allowed_imports = []
allow_file_access = false
allow_network = false

[sandbox]
backend = "auto"   # auto | bwrap | rlimit

[llm]
# model = "openai/gpt-4o-mini"     # or set TOOLFORGE_MODEL; see docs/evolve.md
"""


def load_settings(root: Path) -> LibrarySettings:
    path = root / SETTINGS_FILE
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        return LibrarySettings.model_validate(data)
    except FileNotFoundError:
        raise LibraryError(f"{path} is missing", hint="run `toolforge init` to create a library")
    except (tomllib.TOMLDecodeError, ValidationError) as exc:
        raise LibraryError(
            f"{path} is malformed: {str(exc).splitlines()[0]}",
            hint="fix the file, or restore it with `git -C <library> checkout toolforge.toml`",
        )
