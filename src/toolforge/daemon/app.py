"""The daemon's FastAPI application: routes under /v1, errors as JSON.

Every error is `{error, message, hint}`: a ToolforgeError with its own `http_status`, a
malformed request with 422, an unknown route with 404, a body over the cap with 413 (before
it is read: body_limit.py), anything unexpected with 500 (the traceback goes to the daemon
log; the daemon keeps running).
"""

from __future__ import annotations

import asyncio
import logging
import os
import traceback
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from toolforge import __version__
from toolforge.daemon.body_limit import BodyLimit
from toolforge.daemon.context import DaemonContext
from toolforge.daemon.idle import ActivityMiddleware, idle_timeout_s, stop_when_idle
from toolforge.daemon.jsonbody import parse_body
from toolforge.errors import ToolforgeError, from_os_error

log = logging.getLogger("toolforge.daemon.api")

LOOP_PARSE_MAX = 64 * 1024  # bodies parsed on the event loop itself (microseconds)
API_HINT = "the API is described at /openapi.json (and browsable at /docs)"


def create_app(ctx: DaemonContext) -> FastAPI:
    from toolforge.daemon import (
        routes_daemon,
        routes_library,
        routes_runtime,
        routes_trajectories,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        ctx.bus.bind(asyncio.get_running_loop())
        ctx.jobs.start()
        if ctx.watcher is not None:
            ctx.watcher.start()
        if ctx.worker is not None:
            ctx.worker.start()
        ctx.warm()
        guard = asyncio.create_task(_exit_when_library_gone(ctx))
        idle = asyncio.create_task(stop_when_idle(
            idle_timeout_s(ctx.root), ctx.activity, ctx.jobs_busy, ctx.stop, ctx.stopping))
        log.info("serving %s", ctx.root)
        try:
            yield
        finally:
            guard.cancel()
            idle.cancel()
            await run_in_threadpool(ctx.close)

    app = FastAPI(
        title="toolforge daemon",
        version=__version__,
        description="The toolforge service layer over a Unix socket. See docs/daemon.md.",
        lifespan=lifespan,
    )
    app.state.ctx = ctx
    app.add_middleware(BodyLimit)
    app.add_middleware(ActivityMiddleware, activity=ctx.activity)
    app.include_router(routes_library.router)
    app.include_router(routes_daemon.router)
    app.include_router(routes_trajectories.router)
    app.include_router(routes_runtime.router)
    app.add_exception_handler(ToolforgeError, _toolforge_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _internal_error)
    return app


async def _exit_when_library_gone(ctx: DaemonContext, every_s: float = 2.0) -> None:
    """A daemon whose library was deleted (a temp library, a moved one) has nothing left to
    serve: stop instead of lingering. "Gone" is the directory itself removed or replaced, or
    its git repository removed, seen twice in a row: a library rollback rewrites the files
    (toolforge.toml included) and must not look like a deletion."""
    identity = _identity(ctx.root)
    misses = 0
    while not ctx.stopping.is_set():
        await asyncio.sleep(every_s)
        misses = misses + 1 if _identity(ctx.root) != identity or identity is None else 0
        if misses >= 2:
            log.warning("the library %s is gone: stopping", ctx.root)
            ctx.stop()
            return


def _identity(root: Path) -> tuple[int, int, int] | None:
    """The library directory's and its repository's identity; None when either is gone."""
    try:
        st, git = os.stat(root), os.stat(root / ".git")
    except OSError:
        return None
    return st.st_dev, st.st_ino, git.st_ino


class SafeRoute(APIRoute):
    """Reads a JSON body through `jsonbody.parse_body` (bad input is a 422 there, never a
    500 later), and turns an unexpected exception into a 500 JSON response right in the
    route (Starlette's catch-all handler would re-raise it after responding, to crash
    loudly)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        has_body = self.body_field is not None

        async def safe(request: Request) -> Response:
            try:
                if has_body:
                    data = await request.body()
                    if len(data) > LOOP_PARSE_MAX:  # a big body: parsed off the event loop
                        request._json = await run_in_threadpool(parse_body, data)
                    elif data.strip():
                        # FastAPI's handler reads request.json(): give it the checked value.
                        request._json = parse_body(data)
                return await handler(request)
            except (ToolforgeError, RequestValidationError, HTTPException):
                raise
            except Exception as exc:
                return await _internal_error(request, exc)

        return safe


def error_response(status: int, kind: str, message: str, hint: str | None = None,
                   **extra: Any) -> JSONResponse:
    return JSONResponse({"error": kind, "message": message, "hint": hint, **extra},
                        status_code=status)


async def _toolforge_error(request: Request, exc: ToolforgeError) -> JSONResponse:
    return JSONResponse(exc.to_dict(), status_code=exc.http_status)


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    problems = []
    for err in exc.errors():
        if err.get("type") == "json_invalid":
            problems.append(f"malformed JSON body: {err.get('ctx', {}).get('error', 'invalid')}")
            continue
        where = ".".join(str(p) for p in err.get("loc", ()))
        problems.append(f"{where}: {err.get('msg', 'invalid')}")
    details = [{k: v for k, v in e.items() if k in ("loc", "msg", "type")}
               for e in exc.errors()]
    return error_response(422, "invalid_request", "; ".join(problems) or "invalid request",
                          API_HINT, details=details)


async def _http_error(request: Request, exc: HTTPException) -> Response:
    kind = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    message = str(exc.detail)
    if exc.status_code == 404 and message == "Not Found":
        message = f"no route {request.method} {request.url.path}"
    return error_response(exc.status_code, kind, message, API_HINT)


async def _internal_error(request: Request, exc: Exception) -> JSONResponse:
    ctx: DaemonContext = request.app.state.ctx
    known = from_os_error(exc, f"the disk holding {ctx.root}")
    if known is not None:  # a full disk, a read-only file system: the user's to act on
        return await _toolforge_error(request, known)
    log.error("%s %s failed:\n%s", request.method, request.url.path,
              "".join(traceback.format_exception(exc)))
    where = ctx.log_path or "the daemon log"
    return error_response(500, "internal", f"{type(exc).__name__}: {exc}",
                          f"this is a bug in toolforge; the traceback is in {where}")
