"""Trajectory routes: agents outside Python report their runs here (as with `toolforge
report`), and clients read them back. The body is the same JSON the CLI takes: one run
object, an array of them, or JSONL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from toolforge.daemon.app import SafeRoute
from toolforge.daemon.routes_library import ERRORS, Ctx
from toolforge.service.trajectory_service import TrajectoryService

router = APIRouter(prefix="/v1", route_class=SafeRoute, responses=ERRORS,
                   tags=["trajectories"])


@contextmanager
def _service(root: Path) -> Iterator[TrajectoryService]:
    svc = TrajectoryService(root)
    try:
        yield svc
    finally:
        svc.close()


def _json(data: Any, status: int = 200) -> Response:
    import json

    return Response(json.dumps(data), status_code=status, media_type="application/json")


@router.post("/trajectories", status_code=201, summary="Record runs (object, array or JSONL)")
async def report(ctx: Ctx, request: Request) -> Response:
    text = (await request.body()).decode("utf-8", errors="replace")

    def record() -> list[Any]:
        with _service(ctx.root) as svc:
            recorded = svc.report_text(text, "request body", source="api")
        return [t.model_dump(mode="json") for t in recorded]

    recorded = await ctx.lanes.report.run(record)  # scoring runs user checks: its own lane
    ctx.bus.publish("trajectories_recorded", count=len(recorded),
                    ids=[t["id"] for t in recorded][:50])
    if ctx.worker is not None:
        ctx.worker.nudge()  # the trigger is checked now, not at the next poll
    return _json({"recorded": len(recorded), "trajectories": recorded}, status=201)


@router.post("/evolution/check", status_code=202,
             summary="Runs were recorded elsewhere: the worker looks now")
def check_now(ctx: Ctx) -> Response:
    if ctx.worker is not None:
        ctx.worker.nudge()
    return _json({"worker": ctx.worker is not None}, status=202)


@router.get("/evolution", summary="What the evolution worker is doing, and recent cycles")
def evolution(ctx: Ctx, limit: Annotated[int, Query(ge=1, le=500)] = 20) -> Response:
    from toolforge.deploy.cycles import cycles_overview

    live = ctx.worker.snapshot() if ctx.worker is not None else None
    return _json(cycles_overview(ctx.root, limit=limit, live=live).model_dump(mode="json"))


@router.get("/trajectories", summary="Recorded runs, newest first")
def list_trajectories(ctx: Ctx, failed: bool | None = None, unhandled: bool | None = None,
                      limit: Annotated[int, Query(ge=1, le=1000)] = 50) -> Response:
    with _service(ctx.root) as svc:
        items = svc.list(failed=failed, unhandled=unhandled, limit=limit)
    return _json([t.model_dump(mode="json") for t in items])


@router.get("/trajectories/{trajectory_id}", summary="One recorded run")
def show_trajectory(ctx: Ctx, trajectory_id: str) -> Response:
    with _service(ctx.root) as svc:
        return _json(svc.get(trajectory_id).model_dump(mode="json"))
