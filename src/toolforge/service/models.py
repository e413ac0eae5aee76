"""What the service returns: plain pydantic models, identical in-process and over the API."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

# "rejected": candidates rejected in the past, found in the history (not part of "all").
StatusFilter = Literal["active", "candidate", "retired", "all", "rejected"]


class ToolSummary(BaseModel):
    tool: str
    status: str  # active | candidate | retired | broken
    version: int | None = None
    location: str
    description: str = ""
    created_at: str | None = None
    source: str | None = None
    model: str | None = None
    verdict: str | None = None
    problem: str | None = None
    reason: str | None = None  # why a rejected candidate was rejected
    commit: str | None = None  # the commit that rejected it


class ListResult(BaseModel):
    library: str
    tools: list[ToolSummary]
    hand_edits: list[str] = Field(default_factory=list)
    # Problems that did not stop the listing (e.g. a corrupt reports database).
    warnings: list[str] = Field(default_factory=list)


class HistoryItem(BaseModel):
    commit: str
    date: str
    author: str
    subject: str
    action: str | None = None
    tool: str | None = None
    version: int | None = None
    trailers: dict[str, str] = Field(default_factory=dict)


class HistoryResult(BaseModel):
    tool: str | None
    entries: list[HistoryItem]


class VersionInfo(BaseModel):
    version: int
    commit: str
    tag: str


class ToolDetail(BaseModel):
    tool: str
    status: str
    version: int
    location: str
    meta: dict[str, Any]
    code: str
    tests: str
    signature: str | None = None
    parameters_schema: dict[str, Any] | None = None
    spec_error: str | None = None
    versions: list[VersionInfo] = Field(default_factory=list)
    history: list[HistoryItem] = Field(default_factory=list)
    has_candidate: bool = False
    hand_edits: list[str] = Field(default_factory=list)


class ActionResult(BaseModel):
    action: str
    tool: str | None = None
    version: int | None = None
    commit: str
    subject: str
    tags: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    details: dict[str, Any] = Field(default_factory=dict)


class FileDiff(BaseModel):
    path: str
    diff: str


class DiffResult(BaseModel):
    tool: str
    a: str
    b: str
    files: list[FileDiff]

    @property
    def identical(self) -> bool:
        return not self.files


class SettingNote(BaseModel):
    """A setting of an imported toolforge.toml that a library may not choose."""

    key: str  # dotted: "llm.api_base", "sandbox.backend"
    value: str  # as shown to people ("(hidden)" for secrets)
    # dropped: left out of the new library's file (it is the user's alone);
    # refused: kept as the library's request, not applied until the user allows it.
    action: Literal["dropped", "refused"]
    reason: str
    fix: str | None = None


class ImportReport(BaseModel):
    """What `init --from` brought in, and what it left alone (and why)."""

    imported: list[str] = Field(default_factory=list)
    skipped: list[str] = Field(default_factory=list)
    settings: list[SettingNote] = Field(default_factory=list)
class InitResult(BaseModel):
    library: str
    created: bool
    commit: str | None = None
    imported: list[str] = Field(default_factory=list)
    skipped: list[str] = Field(default_factory=list)
    settings: list[SettingNote] = Field(default_factory=list)


class ToolUsageRow(BaseModel):
    """Calls of one tool version (version None: calls that named no active tool)."""

    tool: str
    version: int | None = None
    calls: int
    errors: int
    error_rate: float
    p50_ms: float
    p99_ms: float
    first_at: str
    last_at: str
    callers: dict[str, int] = Field(default_factory=dict)
    outcomes: dict[str, int] = Field(default_factory=dict)


class UsageReport(BaseModel):
    library: str
    since: str | None = None
    tools: list[ToolUsageRow] = Field(default_factory=list)

    @property
    def calls(self) -> int:
        return sum(t.calls for t in self.tools)

    @classmethod
    def from_stats(cls, library: str, rows: list[Any], since: float | None) -> UsageReport:
        """From `UsageStore.stats()` rows (ToolUsage)."""
        return cls(library=library, since=_iso(since) if since else None, tools=[
            ToolUsageRow(tool=r.tool, version=r.version, calls=r.calls, errors=r.errors,
                         error_rate=round(r.error_rate, 4), p50_ms=r.p50_ms, p99_ms=r.p99_ms,
                         first_at=_iso(r.first_at), last_at=_iso(r.last_at),
                         callers=dict(r.callers), outcomes=dict(r.outcomes))
            for r in rows])


def _iso(at: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(at, UTC).replace(microsecond=0).isoformat().replace(
        "+00:00", "Z")
