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


class ToolAnnotations(BaseModel):
    """What a tool declares about its behaviour, for clients (MCP's tool annotations). Set in
    the `[annotations]` table of tool.toml; unset means "not declared". They are hints for
    agents and their users: the sandbox isolates every tool whatever it declares."""

    # Unknown keys are ignored when loading (a newer toolforge may add hints); `add` refuses
    # them, so a typo is caught where it is made.
    model_config = ConfigDict(extra="ignore")

    read_only: bool | None = Field(default=None, description="MCP readOnlyHint")
    destructive: bool | None = Field(default=None, description="MCP destructiveHint")
    idempotent: bool | None = Field(default=None, description="MCP idempotentHint")
    open_world: bool | None = Field(default=None, description="MCP openWorldHint")

    def mcp_hints(self) -> dict[str, bool]:
        """The declared hints under their MCP names (`readOnlyHint`, ...)."""
        names = {"read_only": "readOnlyHint", "destructive": "destructiveHint",
                 "idempotent": "idempotentHint", "open_world": "openWorldHint"}
        return {names[k]: v for k, v in self.model_dump().items() if v is not None}


class ToolMeta(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: str
    version: int = Field(ge=1)
    status: ToolStatus
    description: str = ""
    title: str | None = Field(default=None, description="human-readable name for clients")
    annotations: ToolAnnotations | None = None
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


def check_presentation(title: Any, annotations: Any, where: str = "tool.toml"
                       ) -> tuple[str | None, ToolAnnotations | None]:
    """A tool's declared `title` and `[annotations]`, checked strictly (unknown hints are
    refused here, where a typo is made, rather than ignored)."""
    if title is not None and (not isinstance(title, str) or not title.strip()
                              or len(title) > 120 or not title.isprintable()):
        raise LibraryError(f"{where}: title must be one printable line of at most 120 "
                           "characters")
    if annotations is None:
        return (title.strip() if title else None), None
    if not isinstance(annotations, dict):
        raise LibraryError(f"{where}: [annotations] must be a table")
    allowed = set(ToolAnnotations.model_fields)
    unknown = sorted(set(annotations) - allowed)
    if unknown:
        raise LibraryError(f"{where}: unknown annotation(s) {', '.join(unknown)}",
                           hint=f"the annotations are: {', '.join(sorted(allowed))}")
    bad = sorted(k for k, v in annotations.items() if not isinstance(v, bool))
    if bad:
        raise LibraryError(f"{where}: annotation(s) {', '.join(bad)} must be true or false")
    return (title.strip() if title else None), ToolAnnotations.model_validate(annotations)


def presentation_from_toml(text: str, where: str = "tool.toml"
                           ) -> tuple[str | None, ToolAnnotations | None]:
    """`title` and `[annotations]` from a tool.toml (the rest of it is toolforge's own)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise LibraryError(f"{where} is malformed: {exc}")
    except RecursionError:
        raise LibraryError(f"{where} is malformed: nested too deeply")
    return check_presentation(data.get("title"), data.get("annotations"), where)


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
    except (tomllib.TOMLDecodeError, ValidationError, UnicodeDecodeError,
            RecursionError) as exc:
        first = "nested too deeply" if isinstance(exc, RecursionError) else \
            str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise LibraryError(f"{where} is malformed: {first}", hint="fix or restore the file")


def dump_meta(meta: ToolMeta) -> str:
    data: dict[str, Any] = meta.model_dump(mode="json", exclude_none=True)
    if not data.get("pinned"):
        data.pop("pinned", None)  # only pinned tools say so: unpinned files stay unchanged
    return tomli_w.dumps(data)
