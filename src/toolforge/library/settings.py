"""`toolforge.toml`: library-wide settings, committed with the library."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from toolforge.errors import LibraryError

SETTINGS_FILE = "toolforge.toml"
FORMAT_VERSION = 1


class TteSettings(BaseModel):
    """`[tte]`: test-time tool evolution (docs/tte.md). The library's `capacity` is its C."""

    model_config = ConfigDict(extra="forbid")

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
    llm: dict[str, Any] = Field(default_factory=dict)  # model per role
    tte: TteSettings = Field(default_factory=TteSettings)


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

[tte]
# Test-time tool evolution (docs/tte.md); `toolforge calibrate --save` fits the thresholds.
tau_ret = 0.5    # a retrieved tool is reused when its score >= tau_ret
tau_dup = 0.75   # a new tool is refused when it duplicates one at similarity >= tau_dup
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


def set_table_values(text: str, table: str, values: dict[str, Any]) -> str:
    """`text` (a toolforge.toml) with scalar keys of `[table]` set, comments and layout
    kept: a key's line is replaced in place, a missing key is added at the end of its table,
    a missing table at the end of the file."""
    import re

    import tomli_w

    lines = text.splitlines()
    rendered = {k: tomli_w.dumps({k: v}).strip() for k, v in values.items()}
    header = re.compile(r"^\s*\[\s*" + re.escape(table) + r"\s*\]\s*(#.*)?$")
    any_header = re.compile(r"^\s*\[")
    start = next((i for i, line in enumerate(lines) if header.match(line)), None)
    if start is None:
        return text.rstrip("\n") + f"\n\n[{table}]\n" + "\n".join(rendered.values()) + "\n"
    end = next((i for i in range(start + 1, len(lines)) if any_header.match(lines[i])),
               len(lines))
    missing = dict(rendered)
    for i in range(start + 1, end):
        match = re.match(r"^\s*([A-Za-z0-9_-]+)\s*=\s*[^#]*?(\s*#.*)?$", lines[i])
        if match and match.group(1) in missing:
            lines[i] = missing.pop(match.group(1)) + (match.group(2) or "")
    insert_at = end
    while insert_at > start + 1 and not lines[insert_at - 1].strip():
        insert_at -= 1
    lines[insert_at:insert_at] = list(missing.values())
    return "\n".join(lines) + "\n"
