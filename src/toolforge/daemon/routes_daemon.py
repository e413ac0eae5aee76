"""Daemon routes: health, jobs, the event stream, shutdown."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Header, Path, Query
from fastapi.responses import Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from toolforge.daemon.app import SafeRoute
from toolforge.daemon.events import Event, now_iso
from toolforge.daemon.models import Health, JobInfo, JobList, JobRequest, ShutdownResult
from toolforge.daemon.routes_library import ERRORS, Ctx, accepted, as_json

# Ids and event ids are SQLite integers: anything larger is no id we ever gave (a 422, not
# an OverflowError deep inside).
MAX_ID = 2**63 - 1
JobId = Annotated[int, Path(ge=0, le=MAX_ID, description="a job id")]

router = APIRouter(prefix="/v1", route_class=SafeRoute, responses=ERRORS, tags=["daemon"])

LOG_POLL_S = 0.1
STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


@router.get("/health", response_model=Health, summary="Liveness, version, pid")
async def health(ctx: Ctx) -> Response:
    # On the event loop: no thread, lock, queue or database, so it answers under any load.
    return as_json(ctx.health())


@router.post("/shutdown", response_model=ShutdownResult, summary="Stop the daemon gracefully")
def shutdown(ctx: Ctx, background: BackgroundTasks) -> Response:
    background.add_task(ctx.stop)  # after the reply has gone out
    return as_json(ShutdownResult(pid=ctx.pid))


# --- jobs ------------------------------------------------------------------------------------


@router.post("/jobs", response_model=JobInfo, status_code=202, summary="Queue a job")
def submit_job(ctx: Ctx, body: JobRequest) -> Response:
    return accepted(ctx.jobs.submit(body.kind, body.tool, body.params))


@router.get("/jobs", response_model=JobList, summary="Recent jobs, newest first")
def list_jobs(ctx: Ctx, limit: Annotated[int, Query(ge=1, le=10_000)] = 50) -> Response:
    return as_json(JobList(jobs=ctx.jobs.recent(limit)))


@router.get("/jobs/{job_id}", response_model=JobInfo, summary="One job, with its log")
def get_job(ctx: Ctx, job_id: JobId) -> Response:
    return as_json(ctx.jobs.get(job_id))


@router.post("/jobs/{job_id}/cancel", response_model=JobInfo, summary="Cancel a job")
def cancel_job(ctx: Ctx, job_id: JobId) -> Response:
    return as_json(ctx.jobs.cancel(job_id))


@router.get("/jobs/{job_id}/log", summary="A job's log as text; follow=1 streams it until "
            "the job ends", response_class=StreamingResponse)
async def job_log(ctx: Ctx, job_id: JobId, follow: bool = False) -> StreamingResponse:
    # 404 before the stream starts (off the event loop: it may read the job store)
    await run_in_threadpool(lambda: ctx.jobs.get(job_id, with_log=False))

    async def lines() -> AsyncIterator[str]:
        pos = 0
        while True:
            new, finished = ctx.jobs.log_lines(job_id, pos)
            pos += len(new)
            if new:
                yield "".join(f"{line}\n" for line in new)
            if finished or not follow or ctx.stopping.is_set():
                return
            await asyncio.sleep(LOG_POLL_S)

    return StreamingResponse(lines(), media_type="text/plain; charset=utf-8",
                             headers=STREAM_HEADERS)


# --- events ----------------------------------------------------------------------------------


@router.get("/events", summary="Server-sent events: library and job events",
            response_class=StreamingResponse)
async def events(
    ctx: Ctx,
    types: Annotated[str | None, Query(description="comma-separated event types")] = None,
    last_event_id: Annotated[int | None, Header(ge=0, le=MAX_ID)] = None,
) -> StreamingResponse:
    wanted = {t.strip() for t in types.split(",") if t.strip()} if types else None

    async def stream() -> AsyncIterator[str]:
        # Subscribe inside the generator: a client gone before the first byte leaks nothing.
        sub = ctx.bus.subscribe(last_event_id)
        yield _sse({"id": None, "type": "subscribed", "time": now_iso(), "pid": ctx.pid,
                    "library": str(ctx.root)})
        async for event in ctx.bus.stream(sub):
            if event is None:
                yield ": keepalive\n\n"
            elif wanted is None or event["type"] in wanted or event["type"] == "lagged":
                yield _sse(event)

    return StreamingResponse(stream(), media_type="text/event-stream", headers=STREAM_HEADERS)


def _sse(event: Event) -> str:
    head = f"id: {event['id']}\n" if event.get("id") is not None else ""
    return f"{head}event: {event['type']}\ndata: {json.dumps(event, default=_str)}\n\n"


def _str(value: Any) -> str:
    return str(value)
