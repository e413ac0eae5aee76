"""Errors of the daemon layer. Subclasses of ToolforgeError, so the CLI's one handler maps
them to exit codes and the API to HTTP statuses like every other error."""

from __future__ import annotations

from toolforge.errors import ToolforgeError


class DaemonError(ToolforgeError):
    """The daemon could not be reached, started or stopped, or lost a request."""

    http_status = 503
    kind = "daemon"


class InvalidRequestError(ToolforgeError):
    """A request the API could not understand (malformed JSON, wrong fields)."""

    http_status = 422
    kind = "invalid_request"


class DaemonInternalError(RuntimeError):
    """The daemon hit a bug (HTTP 500). Not a ToolforgeError: the CLI reports it as an
    internal error (exit 3), as it would an in-process crash."""
