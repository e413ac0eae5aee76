"""`tool.toml`: the metadata file beside every tool's code."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import tomli_w
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from toolforge.errors import LibraryError

ToolStatus = Literal["active", "candidate", "retired"]


class Provenance(BaseModel):
    model_config = ConfigDict(extra="allow")

    source: str = "manual"  # manual | evolve | rollback | hand-edit
    origin: str | None = None  # where a hand-added tool came from
    restored_from: int | None = None
    allow_unisolated: bool = False


class ValidationSummary(BaseModel):
    model_config = ConfigDict(extra="allow")

    verdict: str  # passed | failed
    backend: str
    isolated: bool
    tests_passed: int = 0
    tests_total: int = 0
    report_id: str | None = None
    validated_at: str | None = None


class ToolMeta(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: str
    version: int = Field(ge=1)
    status: ToolStatus
    description: str = ""
    entrypoint: str
    signature: str = ""
    created_at: str = Field(default_factory=lambda: now_iso())
    promoted_at: str | None = None
    retired_at: str | None = None
    provenance: Provenance = Field(default_factory=Provenance)
    validation: ValidationSummary | None = None
    # Exempt from pruning and curation; travels with the library (`toolforge pin NAME`).
    pinned: bool = False
    # The composite tool this atomic "cell" tool was split from (TTE lineage).
    split_from: str | None = None
    # The sub-goal the tool was made for: one of the views retrieval indexes.
    made_for: str | None = None


def now_iso() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def read_meta(path: Path) -> ToolMeta:
    try:
        return parse_meta(path.read_text(encoding="utf-8"), str(path))
    except FileNotFoundError:
        raise LibraryError(f"{path} is missing", hint="every tool directory needs a tool.toml")


def parse_meta(text: str, where: str = "tool.toml") -> ToolMeta:
    try:
        data = tomllib.loads(text)
        return ToolMeta.model_validate(data)
    except (tomllib.TOMLDecodeError, ValidationError, UnicodeDecodeError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise LibraryError(f"{where} is malformed: {first}", hint="fix or restore the file")


def dump_meta(meta: ToolMeta) -> str:
    data: dict[str, Any] = meta.model_dump(mode="json", exclude_none=True)
    if not data.get("pinned"):
        data.pop("pinned", None)  # only pinned tools say so: unpinned files stay unchanged
    return tomli_w.dumps(data)
