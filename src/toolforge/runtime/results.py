"""What one tool call returns, on every surface (Python, CLI, daemon route, MCP)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from toolforge.errors import (
    BadArgumentsError,
    ToolCallFailedError,
    ToolforgeError,
    UnknownToolError,
)

ErrorKind = Literal[
    "unknown_tool",  # no active tool of that name (nothing ran)
    "bad_arguments",  # the arguments do not match the tool's schema (nothing ran)
    "unavailable",  # the tool exists but cannot run here (e.g. no sandbox backend)
    "exception",  # the tool raised
    "timeout",  # wall-clock or CPU time limit
    "memory",  # memory limit
    "output_limit",  # printed or returned more than the output limit
    "file_size",  # wrote a file over the size limit
    "crash",  # the sandboxed process died or broke the protocol
    "bad_result",  # returned something that is not what its signature promises
]
# Errors about the request itself (HTTP 4xx on the daemon route); the rest are results.
REQUEST_ERRORS = ("unknown_tool", "bad_arguments")

# CallResult.limit_hit (the sandbox's words) -> error kind
LIMIT_KINDS: dict[str, ErrorKind] = {
    "wall_time": "timeout",
    "cpu_time": "timeout",
    "memory": "memory",
    "output": "output_limit",
    "file_size": "file_size",
    "crash": "crash",
    "non_json_result": "bad_result",
}


class CallError(BaseModel):
    kind: ErrorKind
    message: str
    type: str | None = Field(default=None, description="the exception class the tool raised")
    traceback: str | None = None
    hint: str | None = None


class ToolCallResult(BaseModel):
    tool: str
    version: int | None = None
    commit: str | None = Field(default=None, description="the library commit whose code ran")
    ok: bool
    value: Any = None
    error: CallError | None = None
    stdout: str = Field(default="", description="what the tool printed (capped)")
    duration_ms: float = 0.0
    caller: str = "python"
    session: str | None = None
    warnings: list[str] = Field(default_factory=list)

    @property
    def outcome(self) -> str:
        """"ok" or the error kind: what the usage record says."""
        return "ok" if self.ok else (self.error.kind if self.error else "exception")

    def error_text(self) -> str:
        """One line naming what went wrong, for a person or a model."""
        if self.error is None:
            return ""
        head = f"{self.tool}" + (f" v{self.version}" if self.version else "")
        kind = self.error.type or self.error.kind
        return f"{head}: {kind}: {self.error.message}"

    def as_error(self) -> ToolforgeError:
        """The toolforge error this failed call stands for."""
        assert self.error is not None, "the call succeeded"
        if self.error.kind == "unknown_tool":
            return UnknownToolError(self.error.message, hint=self.error.hint)
        if self.error.kind == "bad_arguments":
            return BadArgumentsError(self.error.message, hint=self.error.hint)
        return ToolCallFailedError(self.error_text(), hint=self.error.hint,
                                   kind=self.error.kind, result=self)

    def raise_for_request_error(self) -> ToolCallResult:
        """Raise UnknownToolError/BadArgumentsError when the call was refused; else self."""
        if self.error is not None and self.error.kind in REQUEST_ERRORS:
            raise self.as_error()
        return self

    def unwrap(self) -> Any:
        """The value, or the toolforge error for a failed call."""
        if not self.ok:
            raise self.as_error()
        return self.value
