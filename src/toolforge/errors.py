"""Error types shared by every layer.

Each error carries a plain message and an optional hint; the CLI maps the class to an exit
code (pre-commit style: one handler, one table), the daemon maps it to an HTTP status.
"""

from __future__ import annotations


class ToolforgeError(Exception):
    """A failure the user can act on (exit code 1)."""

    exit_code = 1
    http_status = 400
    kind = "error"

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def to_dict(self) -> dict[str, str | None]:
        return {"error": self.kind, "message": self.message, "hint": self.hint}


class UsageError(ToolforgeError):
    """The command line itself is wrong (exit code 2)."""

    exit_code = 2
    kind = "usage"


class NotFoundError(ToolforgeError):
    http_status = 404
    kind = "not_found"


class InvalidNameError(ToolforgeError):
    http_status = 422
    kind = "invalid_name"


class ToolContractError(ToolforgeError):
    """A tool file breaks the tool contract (DESIGN.md §4)."""

    http_status = 422
    kind = "tool_contract"


class LibraryError(ToolforgeError):
    """The library is missing, not a library, or in a state that blocks the operation."""

    http_status = 409
    kind = "library"


class ConflictError(ToolforgeError):
    """The operation conflicts with the current state (e.g. hand edits, stale validation)."""

    http_status = 409
    kind = "conflict"


class ValidationFailedError(ToolforgeError):
    http_status = 409
    kind = "validation_failed"


class LockTimeoutError(ToolforgeError):
    http_status = 503
    kind = "locked"


class ConfigError(ToolforgeError):
    """Missing or invalid configuration (e.g. no model configured)."""

    kind = "config"


class IncomingFileError(ToolforgeError):
    """A file handed to toolforge is not something it reads: a symlink, a device or FIFO,
    not UTF-8 text (exit code 1)."""

    http_status = 422
    kind = "incoming_file"


class TooLargeError(ToolforgeError):
    """A file or request body over its size cap, refused before it is read."""

    http_status = 413
    kind = "too_large"


class UnknownToolError(NotFoundError):
    """A call named no active tool (unknown, retired, or only a candidate)."""

    kind = "unknown_tool"


class BadArgumentsError(ToolforgeError):
    """A call's arguments do not match the tool's JSON schema; nothing was run."""

    http_status = 422
    kind = "bad_arguments"


class ToolCallFailedError(ToolforgeError):
    """A tool ran and failed: it raised, or hit a limit (time, memory, output), or crashed.
    `kind` is the call's error kind (e.g. "timeout", "exception"); `result` the whole
    call result when there is one."""

    kind = "tool_failed"

    def __init__(self, message: str, *, hint: str | None = None, kind: str | None = None,
                 result: object = None) -> None:
        super().__init__(message, hint=hint)
        if kind:
            self.kind = kind
        self.result = result


class InvalidVersionError(ToolforgeError):
    """A version that is not a version number (`①`, 5000 digits, `-3`)."""

    http_status = 422
    kind = "invalid_version"


class StateDamagedError(ToolforgeError):
    """A state database under `.toolforge/` was damaged; it has been moved aside."""

    http_status = 503
    kind = "state_damaged"


class NoSpaceError(ToolforgeError):
    """The disk (or the quota) is full."""

    http_status = 507
    kind = "no_space"


class ReadOnlyError(ToolforgeError):
    """Something had to be written where nothing can be: a read-only file system or
    directory."""

    http_status = 409
    kind = "read_only"


# errno -> what a user can act on; anything else stays an internal error (a bug).
_NO_SPACE = {28, 122}  # ENOSPC, EDQUOT
_READ_ONLY = 30  # EROFS
_DENIED = {13, 1}  # EACCES, EPERM
_NAME_TOO_LONG = 36  # ENAMETOOLONG


def from_os_error(exc: BaseException, where: str | None = None) -> ToolforgeError | None:
    """The error kind of an OSError the user can act on (full disk, read-only file system,
    permission, a name too long), naming the path (else `where`, e.g. the library); None
    for anything else. The one mapping used by the CLI's handler and the daemon's."""
    if not isinstance(exc, OSError) or exc.errno is None:
        return None
    where = str(exc.filename) if exc.filename is not None else (where or "the disk")
    if exc.errno in _NO_SPACE:
        return NoSpaceError(f"no space left on {where}",
                            hint="free some space (or raise the quota) and run it again")
    if exc.errno == _READ_ONLY or exc.errno in _DENIED:
        verb = "write" if exc.errno == _READ_ONLY else "access"
        return ReadOnlyError(f"cannot {verb} {where}: {exc.strerror}",
                             hint="this needs write access to the library and its "
                                  ".toolforge/ state directory")
    if exc.errno == _NAME_TOO_LONG:
        return InvalidNameError(f"name too long for the file system: {where}",
                                hint="pick a shorter name")
    return None
