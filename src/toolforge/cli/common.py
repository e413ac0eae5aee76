"""What every command shares: the wrapper that runs a command body, and the service it
talks to (the library's daemon, or the same service in-process).

Stdlib only at import time: the thin dispatcher (cli/main.py) runs commands through this
module without Typer or pydantic. `JsonOpt` and `LibraryOpt` (Typer annotations for
commands written with Typer) are built on first use.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from toolforge import notices
from toolforge.cli.errors import handle_error
from toolforge.cli.output import INVOCATION, Output

if TYPE_CHECKING:
    from toolforge.cli.typer_build import JsonOpt as JsonOpt
    from toolforge.cli.typer_build import LibraryOpt as LibraryOpt
    from toolforge.daemon.runtime import DaemonPaths

NO_DAEMON_ENV = "TOOLFORGE_NO_DAEMON"
# After the daemon failed, commands run in-process for this long before trying it again,
# and say so only the first time.
FALLBACK_BACKOFF_S = 30.0


def __getattr__(name: str) -> Any:
    if name in ("JsonOpt", "LibraryOpt"):
        from toolforge.cli import typer_build

        return getattr(typer_build, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class CommandFailed(Exception):
    """Raised by a body that has already reported its failure (e.g. printed a failed
    validation report): exit with `code`, print nothing more."""

    def __init__(self, code: int = 1) -> None:
        super().__init__(code)
        self.code = code


def run_command(json_mode: bool, body: Callable[[Output], Any]) -> None:
    """Run `body`, mapping any error to the documented exit code (0 ok, 1 user error,
    2 usage, 3 internal)."""
    code = execute(json_mode, body)
    if code:
        raise _exit(code)


def execute(json_mode: bool, body: Callable[[Output], Any], *, command: str | None = None
            ) -> int:
    out = Output(json_mode or INVOCATION.json, command=command)
    previous, INVOCATION.output = INVOCATION.output, out
    try:
        body(out)
    except CommandFailed as exc:
        return exc.code
    except KeyboardInterrupt:
        out.error("interrupted", "interrupted", None, exit_code=130)
        return 130
    except Exception as exc:
        code = _typer_exit_code(exc)
        if code is not None:
            return code
        return handle_error(exc, out)
    finally:
        INVOCATION.output = previous
    return 0


def _typer_exit_code(exc: BaseException) -> int | None:
    """A `raise typer.Exit(n)` inside a body (commands written with Typer do that)."""
    typer = sys.modules.get("typer")
    if typer is not None and isinstance(exc, typer.Exit):
        return int(exc.exit_code)
    return None


def _exit(code: int) -> BaseException:
    typer = sys.modules.get("typer")
    return typer.Exit(code) if typer is not None else SystemExit(code)


def warn(text: str) -> None:
    """A warning of the running command (stderr, or the JSON envelope's `warnings`)."""
    out = INVOCATION.output
    if out is None:
        out = Output(json_mode=False)
    out.warn(text)


notices.listen(warn)  # the core's notices (a damaged state file moved aside) are warnings


# --- the library and its service ----------------------------------------------------------------


def library_root(library: str | os.PathLike[str] | None) -> Path:
    """The library a command works on: its own --library, else the global one, else
    TOOLFORGE_LIBRARY, the current directory, ./library."""
    from toolforge.library.discovery import resolve_library_path

    if library is not None:
        INVOCATION.command_library = os.fspath(library)
    return resolve_library_path(library if library is not None else INVOCATION.library)


def set_no_daemon(value: bool) -> None:
    """Set by the root command's `--no-daemon` for this invocation."""
    INVOCATION.no_daemon = value


def daemon_disabled() -> bool:
    env = os.environ.get(NO_DAEMON_ENV, "").strip().lower()
    return INVOCATION.no_daemon or env not in ("", "0", "false", "no")


@contextmanager
def open_service(library: str | os.PathLike[str] | None, *, documents: bool = False
                 ) -> Iterator[Any]:
    """The library service for this command: the library's daemon (started on demand), or
    with --no-daemon / TOOLFORGE_NO_DAEMON=1 the same service in-process, under the same
    lock. Both have the same methods, results and errors.

    When the daemon cannot serve (it fails to start, does not answer, dies during a read),
    the command runs in-process instead and says so once. With `documents`, results are
    plain JSON data rather than models (what the thin path prints; no pydantic)."""
    root = library_root(library)
    svc: Any
    svc = _local(root, documents) if daemon_disabled() else _daemon_or_local(root, documents)
    try:
        yield svc
    finally:
        svc.close()


def _local(root: Path, documents: bool) -> Any:
    from toolforge.service.library_service import LibraryService

    svc = LibraryService(root)
    return _Documents(svc) if documents else svc


def _daemon_or_local(root: Path, documents: bool) -> Any:
    from toolforge.daemon.client import DaemonUnavailable, connect
    from toolforge.daemon.runtime import daemon_paths

    paths = daemon_paths(root)
    recent = _recent_failure(paths)
    if recent is not None:
        _note_fallback(recent, first=False)
        return _local(root, documents)
    try:
        client = connect(root, models=not documents, warn=warn)
    except DaemonUnavailable as exc:
        _record_failure(paths, exc.message)
        _note_fallback(exc.message, first=True)
        return _local(root, documents)
    _clear_failure(paths)
    return _Fallback(client, lambda: _local(root, documents), paths)


def _note_fallback(reason: str, *, first: bool) -> None:
    text = f"the daemon is unavailable ({reason}); running in-process"
    out = INVOCATION.output
    if first or out is None:
        warn(text)
    else:  # said already by an earlier command: only scripts see it again
        out.warnings.append(text)


class _Fallback:
    """A daemon client that turns into the in-process service when the daemon fails a read:
    lost, stalled, stopping, or answering 5xx (reads are safe to repeat; a mutation's fate
    is reported instead)."""

    READS = frozenset({"list_tools", "show", "history", "diff", "export", "latest_report"})

    def __init__(self, client: Any, local: Callable[[], Any], paths: DaemonPaths) -> None:
        self._client = client
        self._local = local
        self._paths = paths
        self._active = client

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._active, name)
        if name not in self.READS or self._active is not self._client:
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            from toolforge.daemon.client import DaemonConnectionError
            from toolforge.daemon.errors import DaemonError, DaemonInternalError

            try:
                return attr(*args, **kwargs)
            except (DaemonError, DaemonInternalError) as exc:
                reason = exc.message if isinstance(exc, DaemonError) else \
                    f"it failed: {str(exc)[:200]}"
                if not isinstance(exc, DaemonConnectionError):  # not just killed: a rest
                    _record_failure(self._paths, reason)
                _note_fallback(reason, first=True)
                self._active = self._local()
                return getattr(self._active, name)(*args, **kwargs)

        return call

    def close(self) -> None:
        if self._active is not self._client:
            self._active.close()
        self._client.close()


class _Documents:
    """The in-process service, its results as plain JSON data (as the daemon sends them)."""

    def __init__(self, svc: Any) -> None:
        self._svc = svc

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._svc, name)
        if not callable(attr) or name == "close":
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            from toolforge.cli.output import to_jsonable

            return to_jsonable(attr(*args, **kwargs))

        return call


# A failed daemon is remembered beside its socket for a while (a stalled daemon would
# otherwise cost every command the health timeout).


def _failure_file(paths: DaemonPaths) -> Path:
    return paths.runtime_dir / f"{paths.key}.unavailable"


def _recent_failure(paths: DaemonPaths) -> str | None:
    try:
        path = _failure_file(paths)
        if time.time() - path.stat().st_mtime > FALLBACK_BACKOFF_S:
            return None
        return path.read_text(encoding="utf-8").strip() or "it failed recently"
    except OSError:
        return None


def _record_failure(paths: DaemonPaths, reason: str) -> None:
    from toolforge.daemon.runtime import ensure_runtime_dir

    try:
        ensure_runtime_dir(paths.runtime_dir)
        _failure_file(paths).write_text(reason + "\n", encoding="utf-8")
    except Exception:  # only an optimisation: never fail a command over it
        pass


def _clear_failure(paths: DaemonPaths) -> None:
    try:
        _failure_file(paths).unlink(missing_ok=True)
    except OSError:
        pass


def forget_daemon_failure(root: Path) -> None:
    """`toolforge daemon start|restart|stop`: try the daemon again at once next time."""
    from toolforge.daemon.runtime import daemon_paths

    _clear_failure(daemon_paths(root))
