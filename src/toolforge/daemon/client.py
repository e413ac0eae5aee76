"""The one client of the daemon: HTTP/1.1 over its Unix socket, with the standard library.

`DaemonClient` has the service's method names, signatures and return models, and raises
the same ToolforgeError subclasses (rebuilt from the JSON error), so a command prints the
same thing whichever way it ran. With `models=False` the same methods return the plain
JSON documents instead, which is what the thin CLI prints: then neither pydantic nor any
model is imported. `connect()` finds the library's daemon, or starts one (detached, in its
own session) and waits for it to answer.

Every request opens its own connection (a Unix socket connects in microseconds): the
client is safe to share between threads, and a request that fails can be classified
exactly (nothing sent: retry; sent but no answer: "may or may not have been applied").

HTTP/1.1 is spoken directly on the socket (`_Connection`): the peer is always our own
daemon (uvicorn), and http.client would import the email package and ssl, about 50 ms on
every command. FastAPI, uvicorn, watchdog and httpx are never imported here.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

from toolforge import __version__
from toolforge.daemon.errors import DaemonError, DaemonInternalError
from toolforge.daemon.runtime import (
    DaemonPaths,
    clean_stale,
    daemon_paths,
    ensure_runtime_dir,
    lock_held,
)
from toolforge.errors import NotFoundError, ToolforgeError

if TYPE_CHECKING:
    import subprocess
    import threading

    from toolforge.daemon.models import Health, JobInfo, ShutdownResult
    from toolforge.service.models import (
        ActionResult,
        DiffResult,
        HistoryResult,
        ListResult,
        StatusFilter,
        ToolDetail,
    )

START_TIMEOUT_S = float(os.environ.get("TOOLFORGE_DAEMON_START_TIMEOUT", "15"))
CONNECT_TIMEOUT_S = 5.0
# How long a daemon may take to answer /v1/health before it counts as stalled.
HEALTH_TIMEOUT_S = float(os.environ.get("TOOLFORGE_DAEMON_HEALTH_TIMEOUT", "5"))
# Mutations may wait up to 60 s for the library's writer lock; leave room for that.
REQUEST_TIMEOUT_S = 120.0
# A read waits for no lock: one this slow means a stalled daemon (the CLI then reads
# in-process).
READ_TIMEOUT_S = float(os.environ.get("TOOLFORGE_DAEMON_READ_TIMEOUT", "30"))
HOST = "toolforge"  # the Host header; the socket decides where a request goes

_spawned: list[subprocess.Popen[bytes]] = []


class DaemonConnectionError(DaemonError):
    """The connection to the daemon broke during a request or a stream."""


class DaemonUnavailable(DaemonError):
    """No working daemon: none could be started, or the one running does not answer. The
    CLI runs the command in-process instead (same lock, same results)."""


def connect(root: Path, *, autostart: bool = True, models: bool = True,
            warn: Callable[[str], None] | None = None) -> DaemonClient:
    """A client of `root`'s daemon, started if none answers (and `autostart`)."""
    from toolforge.library.discovery import require_library

    require_library(root)  # same "no library here" error as in-process, before spawning
    client = DaemonClient(root, autostart=autostart, models=models)
    health = client.ensure()
    if warn is not None:
        for problem in daemon_mismatch(health):
            warn(problem)
    return client


def daemon_mismatch(health: Mapping[str, Any]) -> list[str]:
    """Why the running daemon may not do what this process would: another toolforge
    version, or other settings variables (it read its environment when it started)."""
    from toolforge.daemon.envprint import drift_warning

    problems = []
    version = health.get("version")
    if version != __version__:
        problems.append(f"the toolforge daemon runs version {version}, this command is "
                        f"{__version__}; restart it with `toolforge daemon restart`")
    env = drift_warning(health.get("env"), os.environ)
    if env is not None:
        problems.append(env)
    return problems


MAX_HEADER_LINE = 65_536
MAX_HEADERS = 100


class ProtocolError(Exception):
    """The daemon's answer broke off or is not HTTP (it died mid-answer)."""


class _Connection:
    """One HTTP/1.1 exchange on the daemon's Unix socket (`Connection: close`)."""

    def __init__(self, path: str, timeout: float | None) -> None:
        self.path = path
        self.timeout = timeout
        self.sock: socket.socket | None = None
        self._file: Any = None

    def connect(self) -> None:
        limit = min(CONNECT_TIMEOUT_S, self.timeout or CONNECT_TIMEOUT_S)
        deadline = time.monotonic() + limit
        delay = 0.005
        while True:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(limit)
            try:
                sock.connect(self.path)
                break
            except BlockingIOError:
                # The listen backlog is full (a Unix socket says EAGAIN at once, it does not
                # wait): nothing was sent, so try again until the connect timeout.
                sock.close()
                if time.monotonic() >= deadline:
                    raise TimeoutError("the daemon's listen backlog stayed full") from None
                time.sleep(delay)
                delay = min(delay * 2, 0.1)
            except BaseException:
                sock.close()
                raise
        sock.settimeout(self.timeout)
        self.sock = sock

    def request(self, method: str, target: str, body: bytes | None = None) -> None:
        if self.sock is None:
            self.connect()
        assert self.sock is not None
        head = [f"{method} {target} HTTP/1.1", f"Host: {HOST}", "Connection: close",
                "Accept: application/json"]
        if body is not None:
            head += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
        self.sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode("ascii") + (body or b""))

    def response(self) -> _Response:
        assert self.sock is not None
        self._file = self.sock.makefile("rb")
        status_line = self._line()
        parts = status_line.split(None, 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
            raise ProtocolError(f"not an HTTP answer: {status_line[:80]!r}")
        headers: dict[str, str] = {}
        while True:
            line = self._line()
            if not line:
                break
            if len(headers) >= MAX_HEADERS:
                raise ProtocolError("too many headers")
            name, sep, value = line.decode("latin-1").partition(":")
            if not sep:
                raise ProtocolError(f"bad header line: {line[:80]!r}")
            headers[name.strip().lower()] = value.strip()
        return _Response(int(parts[1]), headers, self._file)

    def _line(self) -> bytes:
        line = self._file.readline(MAX_HEADER_LINE + 1)
        if not line:
            raise ProtocolError("the connection closed before an answer")
        if not line.endswith(b"\n"):
            raise ProtocolError("a header line is too long")
        return line.rstrip(b"\r\n")

    def shutdown(self) -> None:
        """End a blocked read from another thread."""
        if self.sock is not None:
            with suppress(OSError):
                self.sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        if self._file is not None:
            with suppress(OSError):
                self._file.close()
        if self.sock is not None:
            self.sock.close()


class _Response:
    def __init__(self, status: int, headers: dict[str, str], file: Any) -> None:
        self.status = status
        self.headers = headers
        self._file = file

    def read(self) -> bytes:
        return b"".join(self.chunks())

    def chunks(self) -> Iterator[bytes]:
        """The body as it arrives: chunked, sized or until the connection closes."""
        if "chunked" in self.headers.get("transfer-encoding", "").lower():
            while True:
                size_line = self._file.readline(MAX_HEADER_LINE + 1)
                if not size_line.endswith(b"\n"):
                    raise ProtocolError("the answer broke off (in a chunk size)")
                try:
                    size = int(size_line.split(b";", 1)[0].strip(), 16)
                except ValueError:
                    raise ProtocolError(f"bad chunk size {size_line[:40]!r}")
                if size == 0:
                    while self._file.readline(MAX_HEADER_LINE + 1) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return
                data = self._file.read(size)
                if len(data) < size or self._file.read(2) not in (b"\r\n",):
                    raise ProtocolError("the answer broke off (in a chunk)")
                yield data
        length = self.headers.get("content-length")
        if length is not None:
            if not (length.isascii() and length.isdigit()):
                raise ProtocolError(f"bad Content-Length {length!r}")
            data = self._file.read(int(length))
            if len(data) < int(length):
                raise ProtocolError(f"the answer broke off ({len(data)} of {length} bytes)")
            yield data
            return
        while True:
            data = self._file.read1(65_536)
            if not data:
                return
            yield data

    def lines(self) -> Iterator[str]:
        pending = b""
        for chunk in self.chunks():
            pending += chunk
            *complete, pending = pending.split(b"\n")
            for line in complete:
                yield line.decode("utf-8", errors="replace").rstrip("\r")
        if pending:
            yield pending.decode("utf-8", errors="replace").rstrip("\r")


class _NotSent(Exception):
    """The request never reached a daemon (no socket, refused, connect timed out)."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.cause = cause


class Stream:
    """The lines of a streamed response. `close()` may be called from another thread: it
    shuts the socket down, which ends a read blocked on it at once."""

    def __init__(self, conn: _Connection, resp: _Response, what: str) -> None:
        self._conn = conn
        self._resp = resp
        self._what = what
        self._closed = False

    def __iter__(self) -> Iterator[str]:
        try:
            lines = self._resp.lines()
            while True:
                try:
                    line = next(lines)
                except StopIteration:
                    return  # the daemon ended the stream (the job finished, it stopped)
                except (ProtocolError, OSError) as exc:
                    if self._closed:
                        return
                    raise _lost(self._what, exc, stream=True)
                yield line
        finally:
            self.close()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._conn.shutdown()
        self._conn.close()

    def __enter__(self) -> Stream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class EventStream:
    """Server-sent events as dicts (the first is `subscribed`); ends when the daemon stops.
    `close()` ends it from any thread."""

    def __init__(self, lines: Stream) -> None:
        self._lines = lines

    def __iter__(self) -> Iterator[dict[str, Any]]:
        data: list[str] = []
        for line in self._lines:
            if line.startswith("data:"):
                data.append(line[5:].lstrip())
            elif not line and data:
                yield json.loads("\n".join(data))
                data = []

    def close(self) -> None:
        self._lines.close()


class DaemonClient:
    def __init__(self, root: Path, paths: DaemonPaths | None = None, *,
                 autostart: bool = True, models: bool = True) -> None:
        self.root = root.resolve()  # the daemon knows its library by the resolved path
        self.autostart = autostart  # start a daemon when none answers (also mid-session)
        self.models = models  # False: methods return the JSON documents, not models
        self.paths = paths or daemon_paths(self.root)

    def close(self) -> None:
        """Nothing to release (each request has its own connection); kept so a client is
        used like a LibraryService."""

    def __enter__(self) -> DaemonClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- connection --------------------------------------------------------------------------

    def probe(self) -> dict[str, Any] | None:
        """The daemon's health document; None when no daemon of this library answers.
        Raises DaemonUnavailable for a daemon that accepts but does not answer (stalled)."""
        try:
            status, body = self._exchange("GET", "/v1/health", None, HEALTH_TIMEOUT_S)
        except _NotSent:
            return None
        except TimeoutError:
            raise _unanswered(self.root, "answer", HEALTH_TIMEOUT_S)
        except (ProtocolError, OSError):
            return None  # it went away while answering: as good as not running
        if status >= 500:  # it runs but cannot serve: starting another would not help
            raise DaemonUnavailable(f"the daemon of {self.root} answered its health check "
                                    f"with HTTP {status}",
                                    hint="`toolforge daemon restart` replaces it")
        if status != 200:
            return None
        try:
            doc = json.loads(body)
        except ValueError:
            return None
        return doc if isinstance(doc, dict) and doc.get("library") == str(self.root) else None

    def try_health(self) -> Health | None:
        try:
            doc = self.probe()
        except DaemonUnavailable:
            return None
        return None if doc is None else _model("Health").model_validate(doc)

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
        return self._get("ListResult", "/v1/tools", {"status": status})

    def show(self, name: str, version: str | int | None = None) -> ToolDetail:
        params = {} if version is None else {"version": str(version)}
        return self._get("ToolDetail", f"/v1/tools/{_seg(name)}", params)

    def history(self, name: str | None = None, limit: int = 50) -> HistoryResult:
        params: dict[str, Any] = {"limit": limit}
        if name is not None:
            params["tool"] = name
        return self._get("HistoryResult", "/v1/history", params)

    def diff(self, name: str, a: str | int | None = None, b: str | int | None = None
             ) -> DiffResult:
        params = {k: str(v) for k, v in (("a", a), ("b", b)) if v is not None}
        return self._get("DiffResult", f"/v1/tools/{_seg(name)}/diff", params)

    def export(self, fmt: str, strict: bool = False) -> Any:
        params: dict[str, Any] = {"format": fmt}
        if strict:
            params["strict"] = "true"
        return self.request_json("GET", "/v1/export", params=params)

    def call_tool(self, name: str, arguments: dict[str, Any] | None = None, *,
                  caller: str = "cli", session: str | None = None,
                  timeout_s: float | None = None) -> Any:
        """LibraryService.call_tool through the daemon's runtime (a ToolCallResult)."""
        body = {"arguments": arguments or {}, "session": session, "timeout_s": timeout_s,
                "caller": caller}
        # A call is not repeated after a lost connection: the tool may have run.
        doc = self._json("POST", f"/v1/tools/{_seg(name)}/call", body=body, what="call")
        if not self.models:
            return doc
        from toolforge.runtime.results import ToolCallResult

        return ToolCallResult.model_validate(doc)

    def usage(self, name: str | None = None, since: float | None = None) -> Any:
        """LibraryService.usage (a UsageReport)."""
        params: dict[str, Any] = {}
        if name is not None:
            params["tool"] = _seg(name)
        if since is not None:
            params["since"] = since
        return self._get("UsageReport", "/v1/usage", params)

    def add(self, code: str, tests: str = "", *, name: str | None = None,
            origin: str | None = None, provenance: dict[str, Any] | None = None,
            validate: bool = True, title: str | None = None,
            annotations: dict[str, Any] | None = None,
            meta: dict[str, Any] | None = None) -> ActionResult:
        body: dict[str, Any] = {"code": code, "tests": tests, "name": name, "origin": origin,
                                "provenance": provenance, "validate": validate}
        if title is not None:
            body["title"] = title
        if annotations is not None:
            body["annotations"] = annotations
        if meta is not None:
            body["meta"] = meta
        return self._post("ActionResult", "/v1/tools", body, what="add")

    def promote(self, name: str, *, allow_unisolated: bool = False) -> ActionResult:
        return self._post("ActionResult", f"/v1/tools/{_seg(name)}/promote",
                          {"allow_unisolated": allow_unisolated}, what="promote")

    def reject(self, name: str, reason: str) -> ActionResult:
        return self._post("ActionResult", f"/v1/tools/{_seg(name)}/reject",
                          {"reason": reason}, what="reject")

    def retire(self, name: str) -> ActionResult:
        return self._post("ActionResult", f"/v1/tools/{_seg(name)}/retire", None,
                          what="retire")

    def pin(self, name: str) -> ActionResult:
        return self._post("ActionResult", f"/v1/tools/{_seg(name)}/pin", None, what="pin")

    def unpin(self, name: str) -> ActionResult:
        return self._post("ActionResult", f"/v1/tools/{_seg(name)}/unpin", None, what="unpin")

    def rollback(self, name: str | None = None, to: int | None = None,
                 library_rev: str | None = None) -> ActionResult:
        body = {"tool": name, "to": to, "library_rev": library_rev}
        return self._post("ActionResult", "/v1/rollback", body, what="rollback")

    def validate(
        self,
        name: str | None = None,
        *,
        code: str | None = None,
        tests: str | None = None,
        extra_suites: list[tuple[str, str]] | None = None,
        store: bool = True,
        fuzz: bool | None = None,
        attack_budget: dict[str, Any] | None = None,
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
        if attack_budget is not None:
            params["attack_budget"] = attack_budget
        if name is not None and code is None:
            _seg(name)  # a bad name fails here exactly as in-process
        job = self._json("POST", "/v1/jobs", body={"kind": "validate", "tool": name,
                                                   "params": params}, what="validate")
        job_id = int(job["id"])
        what = f"validation job {job_id}"
        try:
            with self.follow_log(job_id) as lines:
                for line in lines:
                    if log is not None:
                        log(line)
                    if cancel is not None and cancel.is_set():
                        self.cancel_job(job_id)
                        cancel = None
        except KeyboardInterrupt:  # the job would go on without us: stop it
            with suppress(ToolforgeError):
                self.cancel_job(job_id)
            raise
        except DaemonError as exc:
            raise DaemonError(f"{exc.message} (during {what})",
                              hint="its result is unknown: `toolforge validate` again, "
                              "which restarts the daemon")
        done = self._json("GET", f"/v1/jobs/{job_id}")
        if done.get("state") != "succeeded":
            raise job_error(_model("JobInfo").model_validate(done))
        return as_report(done.get("result")) if self.models else done.get("result")

    def latest_report(self, name: str, files_hash: str | None = None) -> Any:
        """The latest stored validation report of `name` (a ValidationReport), or None;
        with `files_hash`, the latest of exactly those files."""
        params = {"files_hash": files_hash} if files_hash else None
        try:
            doc = self.request_json("GET", f"/v1/tools/{_seg(name)}/report", params=params)
        except NotFoundError:
            return None
        return as_report(doc) if self.models else doc

    # --- jobs and events -----------------------------------------------------------------------

    def submit_job(self, kind: str, tool: str | None = None,
                   params: dict[str, Any] | None = None) -> JobInfo:
        return self._post("JobInfo", "/v1/jobs", {"kind": kind, "tool": tool,
                                                  "params": params or {}}, what="job")

    def jobs(self, limit: int = 50) -> list[JobInfo]:
        doc = self._json("GET", "/v1/jobs", {"limit": limit})
        jobs: list[Any] = doc["jobs"]
        if not self.models:
            return jobs
        return [_model("JobInfo").model_validate(j) for j in jobs]

    def job(self, job_id: int) -> JobInfo:
        return self._get("JobInfo", f"/v1/jobs/{int(job_id)}")

    def cancel_job(self, job_id: int) -> JobInfo:
        return self._post("JobInfo", f"/v1/jobs/{int(job_id)}/cancel", None, what="cancel")

    def follow_log(self, job_id: int, *, follow: bool = True) -> Stream:
        """The job's log lines; with `follow`, until the job finishes."""
        return self.stream(f"/v1/jobs/{int(job_id)}/log",
                           {"follow": "1" if follow else "0"}, what=f"job {int(job_id)}")

    def events(self, types: list[str] | None = None) -> EventStream:
        """Events as they happen (the first is `subscribed`). Ends when the daemon stops;
        raises DaemonError when the connection is lost otherwise."""
        params = {"types": ",".join(types)} if types else None
        return EventStream(self.stream("/v1/events", params, what="the event stream"))

    def wake_worker(self) -> None:
        """Runs were recorded without the daemon (in-process): its evolution worker looks
        at once instead of at its next poll."""
        self._json("POST", "/v1/evolution/check", what="check")

    def health(self) -> Health:
        return self._get("Health", "/v1/health")

    def shutdown(self) -> ShutdownResult:
        return self._post("ShutdownResult", "/v1/shutdown", None, what="shutdown")

    # --- HTTP --------------------------------------------------------------------------------

    def request_json(self, method: str, path: str, *, params: dict[str, Any] | None = None,
                     body: Any = None, what: str | None = None) -> Any:
        """One request; its JSON answer as plain data, or its error raised as the same
        ToolforgeError the service raises."""
        return self._json(method, path, params, body=body, what=what)

    def stream(self, path: str, params: dict[str, Any] | None = None, *, what: str
               ) -> Stream:
        """GET a streamed answer; its lines as they come."""
        target = _target(path, params)
        conn: _Connection | None = None
        for attempt in (1, 2):
            conn = _Connection(str(self.paths.socket), timeout=None)  # idle is normal
            try:
                conn.connect()
                break
            except (FileNotFoundError, ConnectionRefusedError) as exc:
                conn.close()
                if attempt == 2 or not self.autostart:
                    raise _lost(what, exc)
                self.ensure()
            except TimeoutError:
                conn.close()
                raise _unanswered(self.root, "accept a connection", CONNECT_TIMEOUT_S)
        assert conn is not None
        try:
            conn.request("GET", target)
            resp = conn.response()
        except (ProtocolError, OSError) as exc:
            conn.close()
            raise _lost(what, exc, stream=True)
        if resp.status >= 400:
            body = resp.read()
            conn.close()
            _raise_for_error(resp.status, body)
        return Stream(conn, resp, what)

    def _get(self, model: str, path: str, params: dict[str, Any] | None = None) -> Any:
        doc = self._json("GET", path, params)
        return _model(model).model_validate(doc) if self.models else doc

    def _post(self, model: str, path: str, body: Any, *, what: str) -> Any:
        doc = self._json("POST", path, body=body, what=what)
        return _model(model).model_validate(doc) if self.models else doc

    def _json(self, method: str, path: str, params: dict[str, Any] | None = None, *,
              body: Any = None, what: str | None = None) -> Any:
        target = _target(path, params)
        payload = None if body is None else json.dumps(body).encode()
        try:
            status, data = self._send(method, target, payload, what or path)
        except _NotSent:
            # Nothing reached a daemon: safe to (re)start it and send the request once more.
            if not self.autostart:
                raise DaemonError(f"no daemon is running for {self.root}",
                                  hint="start one with `toolforge daemon start`")
            self.ensure()
            try:
                status, data = self._send(method, target, payload, what or path)
            except _NotSent as exc:
                raise _lost(what or path, exc.cause)
        _raise_for_error(status, data)
        try:
            return json.loads(data)
        except ValueError:
            raise DaemonInternalError(f"the daemon answered {what or path} with invalid "
                                      f"JSON: {data[:200]!r}")

    def _send(self, method: str, target: str, payload: bytes | None, what: str
              ) -> tuple[int, bytes]:
        timeout = READ_TIMEOUT_S if method == "GET" else REQUEST_TIMEOUT_S
        try:
            return self._exchange(method, target, payload, timeout)
        except _NotSent:
            raise
        except TimeoutError as exc:
            if method == "GET":  # a read waits for no lock: the daemon is stalled
                raise _unanswered(self.root, f"answer {what}", timeout)
            raise _lost(what, exc, mutation=True, timed_out=True)
        except (ProtocolError, OSError) as exc:
            if method == "GET":
                # A read is safe to repeat: the daemon may have died; start a new one.
                try:
                    self.ensure()
                    return self._exchange(method, target, payload, timeout)
                except (_NotSent, ProtocolError, OSError) as again:
                    raise _lost(what, again)
            raise _lost(what, exc, mutation=True)

    def _exchange(self, method: str, target: str, payload: bytes | None, timeout: float
                  ) -> tuple[int, bytes]:
        conn = _Connection(str(self.paths.socket), timeout=timeout)
        try:
            try:
                conn.connect()
            except (FileNotFoundError, ConnectionRefusedError) as exc:
                raise _NotSent(exc)
            except TimeoutError:  # the socket is there, but its backlog does not move
                raise _unanswered(self.root, "accept a connection", CONNECT_TIMEOUT_S)
            conn.request(method, target, payload)
            resp = conn.response()
            return resp.status, resp.read()
        finally:
            conn.close()


# --- starting a daemon -------------------------------------------------------------------------


def spawn_daemon(root: Path, paths: DaemonPaths) -> subprocess.Popen[bytes]:
    """Start `python -m toolforge.daemon.server` detached: its own session (no terminal
    signals reach it), stdio away from ours (a pipe would tie it to this process)."""
    import subprocess

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
            raise DaemonUnavailable(f"the daemon failed to start: {_tail(paths.stderr)}",
                                    hint=f"its log is {paths.log}")
        if time.monotonic() >= deadline:
            raise DaemonUnavailable(f"the daemon did not answer within {timeout_s:.0f} s",
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


def _model(name: str) -> Any:
    """A response model, imported only when a caller wants models (pydantic is heavy)."""
    from toolforge.daemon import models as daemon_models
    from toolforge.service import models as service_models

    return getattr(service_models, name, None) or getattr(daemon_models, name)


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


def _raise_for_error(status: int, body: bytes) -> None:
    if status < 400:
        return
    try:
        doc = json.loads(body)
        kind, message, hint = doc["error"], doc["message"], doc.get("hint")
    except (ValueError, KeyError, TypeError):
        raise DaemonInternalError(f"HTTP {status}: {body[:500].decode(errors='replace')}")
    if kind == "internal" or (status >= 500 and kind not in _error_classes()):
        raise DaemonInternalError(f"{message} ({hint})" if hint else message)
    cls = _error_classes().get(kind)
    if cls is None:
        exc = ToolforgeError(message, hint=hint)
        exc.kind = kind  # keep the daemon's kind in --json output
        raise exc
    raise cls(message, hint=hint)


def _lost(what: str, exc: BaseException, *, mutation: bool = False, stream: bool = False,
          timed_out: bool = False) -> DaemonConnectionError:
    why = "no answer in time" if timed_out else type(exc).__name__
    if stream:
        return DaemonConnectionError(f"the daemon went away during {what} ({why})",
                           hint="it may have been stopped or killed; the next command "
                           "starts it again")
    if mutation:
        return DaemonConnectionError(
            f"lost the connection to the daemon during {what} ({why}); "
            "it may or may not have been applied",
            hint="check with `toolforge history`; the next command restarts the daemon")
    return DaemonConnectionError(f"lost the connection to the daemon during {what} ({why})",
                                 hint="the next command starts it again; or use --no-daemon")


def _unanswered(root: Path, what: str, timeout_s: float) -> DaemonUnavailable:
    return DaemonUnavailable(f"the daemon of {root} did not {what} within {timeout_s:g} s",
                             hint="`toolforge daemon restart` replaces it")


def _target(path: str, params: dict[str, Any] | None) -> str:
    if not params:
        return path
    return f"{path}?{urllib.parse.urlencode(params)}"


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
