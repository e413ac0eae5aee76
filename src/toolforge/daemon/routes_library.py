"""Library routes: the LibraryService methods, one route each, same arguments and results.

Handlers are plain `def`: FastAPI runs them in its threadpool, so git and file work never
blocks the event loop (or the other clients). Results are serialised once, by pydantic,
straight to JSON. Mutations publish an event after they commit.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from toolforge.daemon.app import SafeRoute
from toolforge.daemon.context import DaemonContext
from toolforge.daemon.job_kinds import action_fields
from toolforge.daemon.models import (
    AddRequest,
    ErrorBody,
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

log = logging.getLogger("toolforge.daemon.api")

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (400, 404, 409, 422, 500, 503)
}
router = APIRouter(prefix="/v1", route_class=SafeRoute, responses=ERRORS, tags=["library"])


def get_ctx(request: Request) -> DaemonContext:
    ctx: DaemonContext = request.app.state.ctx
    return ctx


Ctx = Annotated[DaemonContext, Depends(get_ctx)]


def as_json(model: BaseModel) -> Response:
    return Response(model.model_dump_json(), media_type="application/json")


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


@router.post("/tools", response_model=ActionResult, summary="Add a candidate")
def add(ctx: Ctx, body: AddRequest) -> Response:
    with ctx.services.use() as svc:
        result = svc.add(body.code, body.tests, name=body.name, origin=body.origin,
                         provenance=body.provenance, validate=body.validate_,
                         title=body.title, annotations=body.annotations, meta=body.meta)
    return _mutated(ctx, "tool_added", result)


@router.post("/tools/{name}/promote", response_model=ActionResult, summary="Promote")
def promote(ctx: Ctx, name: str, body: PromoteRequest | None = None) -> Response:
    allow = body.allow_unisolated if body else False
    with ctx.services.use() as svc:
        result = svc.promote(name, allow_unisolated=allow)
    return _mutated(ctx, "tool_promoted", result)


@router.post("/tools/{name}/reject", response_model=ActionResult, summary="Reject a candidate")
def reject(ctx: Ctx, name: str, body: RejectRequest) -> Response:
    with ctx.services.use() as svc:
        result = svc.reject(name, body.reason)
    return _mutated(ctx, "tool_rejected", result)


@router.post("/tools/{name}/retire", response_model=ActionResult, summary="Retire a tool")
def retire(ctx: Ctx, name: str) -> Response:
    with ctx.services.use() as svc:
        result = svc.retire(name)
    return _mutated(ctx, "tool_retired", result)


@router.post("/tools/{name}/pin", response_model=ActionResult,
             summary="Pin a tool: exempt from pruning and curation")
def pin(ctx: Ctx, name: str) -> Response:
    with ctx.services.use() as svc:
        result = svc.pin(name)
    return _mutated(ctx, "tool_pinned", result)


@router.post("/tools/{name}/unpin", response_model=ActionResult, summary="Unpin a tool")
def unpin(ctx: Ctx, name: str) -> Response:
    with ctx.services.use() as svc:
        result = svc.unpin(name)
    return _mutated(ctx, "tool_unpinned", result)


@router.post("/tools/{name}/rollback", response_model=ActionResult,
             summary="Restore an earlier version of a tool")
def rollback_tool(ctx: Ctx, name: str, body: ToolRollbackRequest | None = None) -> Response:
    return _rollback(ctx, name, body.to if body else None, None)


@router.post("/library/rollback", response_model=ActionResult,
             summary="Restore the whole library as it was at a commit")
def rollback_library(ctx: Ctx, body: LibraryRollbackRequest) -> Response:
    return _rollback(ctx, None, None, body.rev)


@router.post("/rollback", response_model=ActionResult,
             summary="LibraryService.rollback as is (what the CLI calls)")
def rollback(ctx: Ctx, body: RollbackRequest) -> Response:
    return _rollback(ctx, body.tool, body.to, body.library_rev)


def _rollback(ctx: DaemonContext, name: str | None, to: int | None, rev: str | None
              ) -> Response:
    with ctx.services.use() as svc:
        result = svc.rollback(name, to, rev)
    event = "library_rolled_back" if rev is not None else "tool_rolled_back"
    return _mutated(ctx, event, result)
