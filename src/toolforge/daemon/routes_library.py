"""Library routes: the LibraryService methods, one route each, same arguments and results.

Reads are plain `def`: FastAPI runs them in its threadpool, so git and file work never
blocks the event loop. Mutations can wait long (for the writer lock, for the validation
they start): they run in the write lane (lanes.py), never on the threads reads need.
`POST /v1/tools` with `Prefer: respond-async` queues the add as a job and answers 202
with the job at once. Results are serialised once, by pydantic, straight to JSON.
Mutations publish an event after they commit.
"""

from __future__ import annotations

import json
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from pydantic_core import PydanticSerializationError
from starlette.concurrency import run_in_threadpool

from toolforge.daemon.app import SafeRoute
from toolforge.daemon.context import DaemonContext
from toolforge.daemon.job_kinds import action_fields
from toolforge.daemon.models import (
    AddRequest,
    ErrorBody,
    JobInfo,
    LibraryRollbackRequest,
    PromoteRequest,
    RejectRequest,
    RollbackRequest,
    ToolRollbackRequest,
)
from toolforge.errors import NotFoundError
from toolforge.names import validate_tool_name
from toolforge.service.models import (
    ActionResult,
    DiffResult,
    HistoryResult,
    ListResult,
    StatusFilter,
    ToolDetail,
)
from toolforge.textsafe import encodable

log = logging.getLogger("toolforge.daemon.api")

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (400, 404, 409, 422, 500, 503)
}
router = APIRouter(prefix="/v1", route_class=SafeRoute, responses=ERRORS, tags=["library"])


async def get_ctx(request: Request) -> DaemonContext:  # async: no threadpool hop
    ctx: DaemonContext = request.app.state.ctx
    return ctx


Ctx = Annotated[DaemonContext, Depends(get_ctx)]


def as_json(model: BaseModel) -> Response:
    try:
        body = model.model_dump_json()
    except PydanticSerializationError:
        # Text with a lone surrogate (from a stored job, a tool's output): sent escaped.
        body = json.dumps(encodable(model.model_dump(mode="json")))
    return Response(body, media_type="application/json")


def accepted(job: JobInfo) -> Response:
    """A queued job's answer: 202 with the job (poll or follow it by its id)."""
    response = as_json(job)
    response.status_code = 202
    return response


def _mutated(ctx: DaemonContext, event: str, result: ActionResult) -> Response:
    log.info("%s (%s)", result.subject, result.commit[:12])
    if ctx.watcher is not None:  # announced here; the watcher must not announce it again
        ctx.watcher.own_commit(result.commit)
    ctx.bus.publish(event, action=result.action, **action_fields(result))
    return as_json(result)


# --- reads -----------------------------------------------------------------------------------


@router.get("/tools", response_model=ListResult, summary="List tools")
def list_tools(ctx: Ctx, status: StatusFilter = "all") -> Response:
    return Response(ctx.index.listing(status), media_type="application/json")


@router.get("/tools/{name}", response_model=ToolDetail, summary="Show a tool")
def show(ctx: Ctx, name: str,
         version: Annotated[str | None, Query(description="N, vN, active or candidate")] = None,
         ) -> Response:
    with ctx.services.use() as svc:
        return as_json(svc.show(name, version))


@router.get("/tools/{name}/diff", response_model=DiffResult, summary="Diff two versions")
def diff(ctx: Ctx, name: str, a: str | None = None, b: str | None = None) -> Response:
    with ctx.services.use() as svc:
        return as_json(svc.diff(name, a, b))


@router.get("/tools/{name}/report", summary="The latest stored validation report of a tool")
def latest_report(ctx: Ctx, name: str, files_hash: Annotated[str | None, Query(
        description="only a report of exactly these files (sha256 of tool + tests)")] = None
                  ) -> Response:
    validate_tool_name(name)
    with ctx.services.use() as svc:
        report = svc.reports.latest(name, files_hash)
    if report is None:
        raise NotFoundError(f"{name} has no validation report",
                            hint=f"run `toolforge validate {name}`")
    return as_json(report)


@router.get("/history", response_model=HistoryResult, summary="Library or tool history")
def history(ctx: Ctx, tool: str | None = None,
            limit: Annotated[int, Query(ge=1, le=100_000)] = 50) -> Response:
    with ctx.services.use() as svc:
        return as_json(svc.history(tool, limit))


@router.get("/export", summary="Active tools as OpenAI or MCP definitions")
def export(ctx: Ctx, format: str = "openai", strict: bool = False) -> JSONResponse:
    with ctx.services.use() as svc:
        return JSONResponse(svc.export(format, strict))


# --- mutations -------------------------------------------------------------------------------


async def _write(ctx: DaemonContext, event: str, method: str, *args: Any, **kwargs: Any
                 ) -> Response:
    """LibraryService.<method>(*args, **kwargs) in the write lane, then announced."""

    def work() -> ActionResult:
        with ctx.services.use() as svc:
            result: ActionResult = getattr(svc, method)(*args, **kwargs)
            return result

    return _mutated(ctx, event, await ctx.lanes.write.run(work))


@router.post("/tools", response_model=ActionResult, summary="Add a candidate",
             responses={202: {"model": JobInfo, "description": "queued as a job "
                              "(with `Prefer: respond-async`)"}})
async def add(ctx: Ctx, body: AddRequest,
              prefer: Annotated[str | None, Header(max_length=200)] = None) -> Response:
    if prefer is not None and "respond-async" in prefer.lower():
        params = body.model_dump(mode="json", by_alias=True)
        return accepted(await run_in_threadpool(ctx.jobs.submit, "add", None, params))
    return await _write(ctx, "tool_added", "add", body.code, body.tests, name=body.name,
                        origin=body.origin, provenance=body.provenance,
                        validate=body.validate_, title=body.title,
                        annotations=body.annotations, meta=body.meta)


@router.post("/tools/{name}/promote", response_model=ActionResult, summary="Promote")
async def promote(ctx: Ctx, name: str, body: PromoteRequest | None = None) -> Response:
    allow = body.allow_unisolated if body else False
    return await _write(ctx, "tool_promoted", "promote", name, allow_unisolated=allow)


@router.post("/tools/{name}/reject", response_model=ActionResult, summary="Reject a candidate")
async def reject(ctx: Ctx, name: str, body: RejectRequest) -> Response:
    return await _write(ctx, "tool_rejected", "reject", name, body.reason)


@router.post("/tools/{name}/retire", response_model=ActionResult, summary="Retire a tool")
async def retire(ctx: Ctx, name: str) -> Response:
    return await _write(ctx, "tool_retired", "retire", name)


@router.post("/tools/{name}/pin", response_model=ActionResult,
             summary="Pin a tool: exempt from pruning and curation")
async def pin(ctx: Ctx, name: str) -> Response:
    return await _write(ctx, "tool_pinned", "pin", name)


@router.post("/tools/{name}/unpin", response_model=ActionResult, summary="Unpin a tool")
async def unpin(ctx: Ctx, name: str) -> Response:
    return await _write(ctx, "tool_unpinned", "unpin", name)


@router.post("/tools/{name}/rollback", response_model=ActionResult,
             summary="Restore an earlier version of a tool")
async def rollback_tool(ctx: Ctx, name: str, body: ToolRollbackRequest | None = None
                        ) -> Response:
    return await _rollback(ctx, name, body.to if body else None, None)


@router.post("/library/rollback", response_model=ActionResult,
             summary="Restore the whole library as it was at a commit")
async def rollback_library(ctx: Ctx, body: LibraryRollbackRequest) -> Response:
    return await _rollback(ctx, None, None, body.rev)


@router.post("/rollback", response_model=ActionResult,
             summary="LibraryService.rollback as is (what the CLI calls)")
async def rollback(ctx: Ctx, body: RollbackRequest) -> Response:
    return await _rollback(ctx, body.tool, body.to, body.library_rev)


async def _rollback(ctx: DaemonContext, name: str | None, to: int | None, rev: str | None
                    ) -> Response:
    event = "library_rolled_back" if rev is not None else "tool_rolled_back"
    return await _write(ctx, event, "rollback", name, to, rev)
