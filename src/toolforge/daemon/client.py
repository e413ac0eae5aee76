"""The CLI's side of the daemon: a LibraryService look-alike that talks HTTP over the socket.

`DaemonClient` has the service's method names, signatures and return models, and raises
the same ToolforgeError subclasses (rebuilt from the JSON error), so a command prints the
same thing whichever way it ran. `connect()` finds the library's daemon, or starts one
(detached, in its own session) and waits for it to answer.

httpx is imported here only; FastAPI, uvicorn and watchdog never are.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from toolforge import __version__
from toolforge.daemon.errors import DaemonError, DaemonInternalError
from toolforge.daemon.runtime import (
    DaemonPaths,
    clean_stale,
    daemon_paths,
    ensure_runtime_dir,
    lock_held,
)
from toolforge.errors import ToolforgeError
from toolforge.service.models import (
    ActionResult,
    DiffResult,
    HistoryResult,
    ListResult,
    StatusFilter,
    ToolDetail,
)

if TYPE_CHECKING:
    import httpx
    from pydantic import BaseModel

    from toolforge.daemon.models import Health, JobInfo, ShutdownResult

M = TypeVar("M", bound="BaseModel")

START_TIMEOUT_S = float(os.environ.get("TOOLFORGE_DAEMON_START_TIMEOUT", "15"))
CONNECT_TIMEOUT_S = 5.0
# Mutations may wait up to 60 s for the library's writer lock; leave room for that.
REQUEST_TIMEOUT_S = 120.0
BASE_URL = "http://toolforge"  # the host is ignored over a Unix socket

_spawned: list[subprocess.Popen[bytes]] = []


def connect(root: Path, *, autostart: bool = True,
            warn: Callable[[str], None] | None = None) -> DaemonClient:
    """A client of `root`'s daemon, started if none answers (and `autostart`)."""
    from toolforge.library.store import Library

    Library.open(root).close()  # same "no library here" error as in-process, before spawning
    client = DaemonClient(root, autostart=autostart)
    try:
        health = client.ensure()
    except BaseException:
        client.close()
        raise
    version = health.get("version")
    if version != __version__ and warn is not None:
        warn(f"the toolforge daemon runs version {version}, this command is "
             f"{__version__}; restart it with `toolforge daemon restart`")
    return client


class DaemonClient:
    def __init__(self, root: Path, paths: DaemonPaths | None = None, *,
                 autostart: bool = True) -> None:
        import httpx

        self.root = root.resolve()  # the daemon knows its library by the resolved path
        self.autostart = autostart  # start a daemon when none answers (also mid-session)
        self.paths = paths or daemon_paths(self.root)
        self._httpx = httpx
        self._http = httpx.Client(
            # verify=False: plain HTTP over a local socket, so skip loading CA certificates.
            transport=httpx.HTTPTransport(uds=str(self.paths.socket), verify=False),
            base_url=BASE_URL,
            timeout=httpx.Timeout(REQUEST_TIMEOUT_S, connect=CONNECT_TIMEOUT_S),
            trust_env=False,  # an HTTP(S)_PROXY in the environment must not capture us
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> DaemonClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- connection --------------------------------------------------------------------------

    def probe(self) -> dict[str, Any] | None:
        """The daemon's health document, or None when no daemon of this library answers.
        (Plain JSON: the models of the daemon API are not needed on a command's hot path.)"""
        try:
            resp = self._http.get("/v1/health", timeout=CONNECT_TIMEOUT_S)
        except (self._httpx.TransportError, OSError):
            return None
        if resp.status_code != 200:
            return None
        try:
            doc = resp.json()
        except ValueError:
            return None
        return doc if isinstance(doc, dict) and doc.get("library") == str(self.root) else None

    def try_health(self) -> Health | None:
        doc = self.probe()
        return None if doc is None else _models().Health.model_validate(doc)

    def ensure(self) -> dict[str, Any]:
        health = self.probe()
        if health is not None:
            return health
        if not self.autostart:
            raise DaemonError(f"no daemon is running for {self.root}",
                              hint="start one with `toolforge daemon start`")
        return start_daemon(self)

    # --- the LibraryService interface ----------------------------------------------------------

    def list_tools(self, status: StatusFilter = "all") -> ListResult:
        return self._get(ListResult, "/v1/tools", params={"status": status})

    def show(self, name: str, version: str | int | None = None) -> ToolDetail:
        params = {} if version is None else {"version": str(version)}
        return self._get(ToolDetail, f"/v1/tools/{_seg(name)}", params=params)

    def history(self, name: str | None = None, limit: int = 50) -> HistoryResult:
        params: dict[str, Any] = {"limit": limit}
        if name is not None:
            params["tool"] = name
        return self._get(HistoryResult, "/v1/history", params=params)

    def diff(self, name: str, a: str | int | None = None, b: str | int | None = None
             ) -> DiffResult:
        params = {k: str(v) for k, v in (("a", a), ("b", b)) if v is not None}
        return self._get(DiffResult, f"/v1/tools/{_seg(name)}/diff", params=params)

    def export(self, fmt: str, strict: bool = False) -> Any:
        params: dict[str, Any] = {"format": fmt}
        if strict:
            params["strict"] = "true"
        return self._request("GET", "/v1/export", params=params).json()

    def call_tool(self, name: str, arguments: dict[str, Any] | None = None, *,
                  caller: str = "cli", session: str | None = None,
                  timeout_s: float | None = None) -> Any:
        """LibraryService.call_tool through the daemon's runtime (a ToolCallResult)."""
        from toolforge.runtime.results import ToolCallResult

        body = {"arguments": arguments or {}, "session": session, "timeout_s": timeout_s,
                "caller": caller}
        # A call is not repeated after a lost connection: the tool may have run.
        return self._post(ToolCallResult, f"/v1/tools/{_seg(name)}/call", body, what="call")

    def usage(self, name: str | None = None, since: float | None = None) -> Any:
        """LibraryService.usage (a UsageReport)."""
        from toolforge.service.models import UsageReport

        params: dict[str, Any] = {}
        if name is not None:
            params["tool"] = _seg(name)
        if since is not None:
            params["since"] = since
        return self._get(UsageReport, "/v1/usage", params=params)

    def add(self, code: str, tests: str = "", *, name: str | None = None,
            origin: str | None = None, provenance: dict[str, Any] | None = None,
            validate: bool = True, title: str | None = None,
            annotations: dict[str, Any] | None = None) -> ActionResult:
        body: dict[str, Any] = {"code": code, "tests": tests, "name": name, "origin": origin,
                                "provenance": provenance, "validate": validate}
        if title is not None:
            body["title"] = title
        if annotations is not None:
            body["annotations"] = annotations
        return self._post(ActionResult, "/v1/tools", body, what="add")

    def promote(self, name: str, *, allow_unisolated: bool = False) -> ActionResult:
        return self._post(ActionResult, f"/v1/tools/{_seg(name)}/promote",
                          {"allow_unisolated": allow_unisolated}, what="promote")

    def reject(self, name: str, reason: str) -> ActionResult:
        return self._post(ActionResult, f"/v1/tools/{_seg(name)}/reject", {"reason": reason},
                          what="reject")

    def retire(self, name: str) -> ActionResult:
        return self._post(ActionResult, f"/v1/tools/{_seg(name)}/retire", None, what="retire")

    def rollback(self, name: str | None = None, to: int | None = None,
                 library_rev: str | None = None) -> ActionResult:
        body = {"tool": name, "to": to, "library_rev": library_rev}
        return self._post(ActionResult, "/v1/rollback", body, what="rollback")

    def validate(
        self,
        name: str | None = None,
        *,
        code: str | None = None,
        tests: str | None = None,
        extra_suites: list[tuple[str, str]] | None = None,
        store: bool = True,
        fuzz: bool | None = None,
        log: Callable[[str], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> Any:
        """Validation as a daemon job: queued, run, its log streamed to `log`; returns the
        report LibraryService.validate returns (or raises its error)."""
        params: dict[str, Any] = {"store": store}
        if code is not None:
            params["code"] = code
        if tests is not None:
            params["tests"] = tests
        if extra_suites:
            params["extra_suites"] = [list(pair) for pair in extra_suites]
        if fuzz is not None:
            params["fuzz"] = fuzz
        if name is not None and code is None:
            _seg(name)  # a bad name fails here exactly as in-process
        job = self.submit_job("validate", name, params)
        try:
            for line in self.follow_log(job.id):
                if log is not None:
                    log(line)
                if cancel is not None and cancel.is_set():
                    self.cancel_job(job.id)
                    cancel = None
        except KeyboardInterrupt:  # the job would go on without us: stop it
            with suppress(ToolforgeError):
                self.cancel_job(job.id)
            raise
        done = self.job(job.id)
        if done.state != "succeeded":
            raise job_error(done)
        return as_report(done.result)

    def latest_report(self, name: str, files_hash: str | None = None) -> Any:
        """The latest stored validation report of `name` (a ValidationReport), or None;
        with `files_hash`, the latest of exactly those files."""
        from toolforge.errors import NotFoundError

        query = f"?files_hash={files_hash}" if files_hash else ""
        try:
            resp = self._request("GET", f"/v1/tools/{_seg(name)}/report{query}")
        except NotFoundError:
            return None
        return as_report(resp.json())

    # --- jobs and events -----------------------------------------------------------------------

    def submit_job(self, kind: str, tool: str | None = None,
                   params: dict[str, Any] | None = None) -> JobInfo:
        return self._post(_models().JobInfo, "/v1/jobs", {"kind": kind, "tool": tool,
                                                "params": params or {}}, what="job")

    def jobs(self, limit: int = 50) -> list[JobInfo]:
        return self._get(_models().JobList, "/v1/jobs", params={"limit": limit}).jobs

    def job(self, job_id: int) -> JobInfo:
        return self._get(_models().JobInfo, f"/v1/jobs/{int(job_id)}")

    def cancel_job(self, job_id: int) -> JobInfo:
        return self._post(_models().JobInfo, f"/v1/jobs/{int(job_id)}/cancel", None,
                          what="cancel")

    def follow_log(self, job_id: int, *, follow: bool = True) -> Iterator[str]:
        """The job's log lines; with `follow`, until the job finishes."""
        with self._stream("GET", f"/v1/jobs/{int(job_id)}/log",
                          params={"follow": "1" if follow else "0"}) as resp:
            yield from resp.iter_lines()

    def events(self, types: list[str] | None = None) -> Iterator[dict[str, Any]]:
        """Events as they happen (the first is `subscribed`). Ends when the daemon stops."""
        params = {"types": ",".join(types)} if types else {}
        with self._stream("GET", "/v1/events", params=params) as resp:
            data: list[str] = []
            for line in resp.iter_lines():
                if line.startswith("data:"):
                    data.append(line[5:].lstrip())
                elif not line and data:
                    yield json.loads("\n".join(data))
                    data = []

    def health(self) -> Health:
        return self._get(_models().Health, "/v1/health")

    def shutdown(self) -> ShutdownResult:
        return self._post(_models().ShutdownResult, "/v1/shutdown", None, what="shutdown")

    # --- HTTP --------------------------------------------------------------------------------

    def _get(self, model: type[M], path: str, params: dict[str, Any] | None = None) -> M:
        return model.model_validate_json(self._request("GET", path, params=params).content)

    def _post(self, model: type[M], path: str, body: dict[str, Any] | None, *, what: str) -> M:
        resp = self._request("POST", path, json=body, what=what)
        return model.model_validate_json(resp.content)

    def _request(self, method: str, path: str, *, what: str | None = None,
                 **kwargs: Any) -> httpx.Response:
        hx = self._httpx
        try:
            resp = self._http.request(method, path, **kwargs)
        except hx.ConnectError:
            # Nothing was sent: safe to (re)start the daemon and send it once more.
            self.ensure()
            resp = self._retry(method, path, what, **kwargs)
        except hx.TransportError as exc:
            if method != "GET":
                raise _lost(what or path, exc)
            self.ensure()  # a read is safe to repeat
            resp = self._retry(method, path, what, **kwargs)
        _raise_for_error(resp)
        return resp

    def _retry(self, method: str, path: str, what: str | None, **kwargs: Any) -> httpx.Response:
        try:
            return self._http.request(method, path, **kwargs)
        except self._httpx.TransportError as exc:
            raise _lost(what or path, exc)

    def _stream(self, method: str, path: str, **kwargs: Any) -> Any:
        from contextlib import contextmanager

        hx = self._httpx

        @contextmanager
        def cm() -> Iterator[httpx.Response]:
            try:
                with self._http.stream(method, path, timeout=hx.Timeout(
                        None, connect=CONNECT_TIMEOUT_S), **kwargs) as resp:
                    if resp.status_code >= 400:
                        resp.read()
                        _raise_for_error(resp)
                    yield resp
            except hx.RemoteProtocolError:
                return  # the daemon went away mid-stream: the stream just ends
            except hx.TransportError as exc:
                raise _lost(path, exc)

        return cm()


# --- starting a daemon -------------------------------------------------------------------------


def spawn_daemon(root: Path, paths: DaemonPaths) -> subprocess.Popen[bytes]:
    """Start `python -m toolforge.daemon.server` detached: its own session (no terminal
    signals reach it), stdio away from ours (a pipe would tie it to this process)."""
    ensure_runtime_dir(paths.runtime_dir)
    paths.state_dir.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k != "TOOLFORGE_NO_DAEMON"}
    with open(paths.stderr, "wb") as err, open(os.devnull, "rb") as devnull:
        proc = subprocess.Popen(
            [sys.executable, "-m", "toolforge.daemon.server", "--library", str(root)],
            stdin=devnull, stdout=err, stderr=err, cwd="/", env=env,
            start_new_session=True, close_fds=True,
        )
    _spawned.append(proc)
    return proc


def start_daemon(client: DaemonClient, timeout_s: float = START_TIMEOUT_S) -> dict[str, Any]:
    """Start the daemon of `client.root` (or join one being started) and wait for health."""
    return start_daemon_process(client, timeout_s)[0]


def start_daemon_process(client: DaemonClient, timeout_s: float = START_TIMEOUT_S
                         ) -> tuple[dict[str, Any], subprocess.Popen[bytes]]:
    """start_daemon, also returning the process we spawned (which is not the daemon when
    another starter won the race)."""
    reap_children()
    paths = client.paths
    clean_stale(paths)
    proc = spawn_daemon(client.root, paths)
    deadline = time.monotonic() + timeout_s
    delay = 0.02
    while True:
        health = client.probe()
        if health is not None:
            return health, proc
        # Our child exits at once when another daemon holds the lock: that one will answer.
        # If it exited and nobody holds the lock, starting failed.
        if proc.poll() is not None and not lock_held(paths):
            health = client.probe()
            if health is not None:
                return health, proc
            raise DaemonError(f"the daemon failed to start: {_tail(paths.stderr)}",
                              hint=f"its log is {paths.log}")
        if time.monotonic() >= deadline:
            raise DaemonError(f"the daemon did not answer within {timeout_s:.0f} s",
                              hint=f"see {paths.log}; or run with --no-daemon")
        time.sleep(delay)
        delay = min(delay * 1.5, 0.2)


def reap_children() -> None:
    """Collect daemons we spawned that have exited (no zombies in a long-lived caller)."""
    for proc in list(_spawned):
        if proc.poll() is not None:
            _spawned.remove(proc)


# --- errors --------------------------------------------------------------------------------------


def job_error(job: JobInfo) -> ToolforgeError:
    from toolforge.daemon.queued import job_error as error_of

    return error_of(job)


def as_report(result: Any) -> Any:
    from toolforge.daemon.queued import as_report as report_of

    return report_of(result)


def _models() -> Any:
    from toolforge.daemon import models

    return models


def _error_classes() -> dict[str, type[ToolforgeError]]:
    out: dict[str, type[ToolforgeError]] = {}
    todo: list[type[ToolforgeError]] = [ToolforgeError]
    while todo:
        cls = todo.pop()
        out.setdefault(cls.kind, cls)
        todo.extend(cls.__subclasses__())
    return out


def error_class(kind: str) -> type[ToolforgeError]:
    """The ToolforgeError subclass of an error `kind` (ToolforgeError for unknown kinds)."""
    return _error_classes().get(kind, ToolforgeError)


def _raise_for_error(resp: httpx.Response) -> None:
    if resp.status_code < 400:
        return
    try:
        doc = resp.json()
        kind, message, hint = doc["error"], doc["message"], doc.get("hint")
    except (ValueError, KeyError, TypeError):
        raise DaemonInternalError(f"HTTP {resp.status_code}: {resp.text[:500]}")
    if kind == "internal" or (resp.status_code >= 500 and kind not in _error_classes()):
        raise DaemonInternalError(f"{message} ({hint})" if hint else message)
    cls = _error_classes().get(kind)
    if cls is None:
        exc = ToolforgeError(message, hint=hint)
        exc.kind = kind  # keep the daemon's kind in --json output
        raise exc
    raise cls(message, hint=hint)


def _lost(what: str, exc: Exception) -> DaemonError:
    return DaemonError(
        f"lost the connection to the daemon during {what} ({type(exc).__name__}); "
        "it may or may not have been applied",
        hint="check with `toolforge history`; the next command restarts the daemon",
    )


def _seg(name: str) -> str:
    """A tool name as a path segment: checked here, so a bad name fails exactly as it does
    in-process instead of becoming some other route."""
    from toolforge.names import validate_tool_name

    return validate_tool_name(name)


def _tail(path: Path, n: int = 5) -> str:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except OSError:
        return "no output"
    return " | ".join(lines[-n:]) or "no output"
