"""Request and response models of the daemon's API (the service's own models are reused
for everything the service returns). Pydantic only: the client imports this too."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

JobState = Literal["queued", "running", "succeeded", "failed", "cancelled"]
FINISHED_STATES: tuple[str, ...] = ("succeeded", "failed", "cancelled")


class _Request(BaseModel):
    # A misspelt field is a client bug worth a 422, not something to ignore silently.
    model_config = ConfigDict(extra="forbid")


class AddRequest(_Request):
    code: str = Field(description="tool.py source: one public function")
    tests: str = Field(default="", description="test_tool.py source")
    name: str | None = Field(default=None,
                             description="tool name (default: the function's name)")
    origin: str | None = Field(default=None,
                               description="where the tool came from (recorded)")
    provenance: dict[str, Any] | None = None
    meta: dict[str, Any] | None = Field(default=None,
                                        description="more tool.toml fields: made_for, split_from")
    validate_: bool = Field(default=True, alias="validate",
                            description="validate the candidate right away (inside this call)")
    title: str | None = Field(default=None, description="display name for clients")
    annotations: dict[str, Any] | None = Field(
        default=None, description="MCP hints: read_only, destructive, idempotent, open_world")


class PromoteRequest(_Request):
    allow_unisolated: bool = Field(
        default=False, description="accept a validation without an isolating sandbox (recorded)")


class RejectRequest(_Request):
    reason: str


class ToolRollbackRequest(_Request):
    to: int | None = Field(default=None,
                           description="version to restore (default: the previous one)")


class LibraryRollbackRequest(_Request):
    rev: str = Field(description="commit to restore the whole library to (sha, tag, HEAD~N)")


class RollbackRequest(_Request):
    """The service's rollback call as is (the CLI uses this one)."""

    tool: str | None = None
    to: int | None = None
    library_rev: str | None = None


class JobRequest(_Request):
    kind: str = Field(description="validate | hand_edit (and test kinds when enabled)")
    # validate: params may hold code, tests, extra_suites, store (LibraryService.validate's)
    tool: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)


class JobInfo(BaseModel):
    id: int
    kind: str
    tool: str | None = None
    state: JobState
    params: dict[str, Any] = Field(default_factory=dict)
    created_at: str
    started_at: str | None = None
    finished_at: str | None = None
    result: Any = None
    error: str | None = None
    # For a ToolforgeError: its kind and hint, so a client can raise the same error.
    error_kind: str | None = None
    error_hint: str | None = None
    log: list[str] | None = Field(default=None,
                                  description="log lines (only on GET /v1/jobs/{id})")

    @property
    def finished(self) -> bool:
        return self.state in FINISHED_STATES


class JobList(BaseModel):
    jobs: list[JobInfo]


class Health(BaseModel):
    status: str = "ok"
    version: str
    pid: int
    library: str
    started_at: str
    socket: str | None = None
    # Digests of the settings variables it started with (daemon/envprint.py): a client
    # whose own differ says so.
    env: dict[str, str] | None = None


class ShutdownResult(BaseModel):
    status: str = "stopping"
    pid: int


class ErrorBody(BaseModel):
    error: str = Field(description="error kind, e.g. not_found, conflict, invalid_request")
    message: str
    hint: str | None = None
