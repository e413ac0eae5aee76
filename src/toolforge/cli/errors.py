"""One error handler: exception class -> exit code (0 ok, 1 user error, 2 usage, 3 internal)."""

from __future__ import annotations

import os
from pathlib import Path

from toolforge.cli.output import Output
from toolforge.errors import ToolforgeError, from_os_error

EXIT_OK = 0
EXIT_USER = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3


def log_path() -> Path:
    override = os.environ.get("TOOLFORGE_LOG_DIR")
    if override:
        base = Path(override)
    else:
        from platformdirs import user_log_dir

        base = Path(user_log_dir("toolforge", appauthor=False))
    return base / "toolforge.log"


def handle_error(exc: BaseException, out: Output) -> int:
    # A full disk, a read-only file system, a name too long: what the user can act on,
    # wherever it was raised.
    if isinstance(exc, OSError):
        where = None if exc.filename is not None else _library(out)
        exc = from_os_error(exc, where and f"the disk holding {where}") or exc
    if isinstance(exc, ToolforgeError):
        out.error(exc.kind, exc.message, exc.hint, exit_code=exc.exit_code)
        return exc.exit_code
    path = _log(exc)
    limit = _from_input(exc)
    if limit is not None:  # input too deep or too big for a place that did not expect it
        out.error(limit.kind, limit.message, f"{limit.hint} (details in {path})",
                  exit_code=limit.exit_code)
        return limit.exit_code
    out.error(
        "internal",
        f"internal error: {type(exc).__name__}: {exc}",
        f"this is a bug in toolforge; the traceback is in {path}",
        {"log": str(path)},
        exit_code=EXIT_INTERNAL,
    )
    return EXIT_INTERNAL


def _log(exc: BaseException) -> Path:
    import traceback
    from datetime import UTC, datetime

    path = log_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8", errors="backslashreplace") as fh:
            fh.write(f"--- {datetime.now(UTC).isoformat()} pid {os.getpid()}\n")
            fh.write("".join(traceback.format_exception(exc)))
    except OSError:
        path = Path("<unwritable log>")
    return path


def _from_input(exc: BaseException) -> ToolforgeError | None:
    if isinstance(exc, RecursionError):
        return ToolforgeError("the input is nested too deeply to process",
                              hint="split long expressions or deep structures")
    if isinstance(exc, MemoryError):
        return ToolforgeError("out of memory processing the input",
                              hint="try a smaller input")
    return None


def _library(out: Output) -> str | None:
    try:
        return out.library_path()
    except Exception:  # naming the place is a courtesy: never a second failure
        return None
