"""Runtime routes: call a tool, read usage. Any language can use the library through these.

    curl --unix-socket "$SOCK" -X POST http://toolforge/v1/tools/sha256_hex/call \\
         -H 'content-type: application/json' -d '{"arguments": {"text": "abc"}}'

A call that ran answers 200 with the result, whether the tool succeeded (`ok: true`) or
failed (`ok: false`, `error.kind` timeout / memory / exception / ...): a tool's failure is
an answer for the agent, as in MCP. A call that could not run answers 4xx with the usual
error body: 404 `unknown_tool`, 422 `bad_arguments` (checked before anything ran).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from toolforge.daemon.app import SafeRoute
from toolforge.daemon.routes_library import ERRORS, Ctx, as_json
from toolforge.runtime.results import ToolCallResult
from toolforge.service.models import UsageReport

router = APIRouter(prefix="/v1", route_class=SafeRoute, responses=ERRORS, tags=["runtime"])

SESSION_HEADER = "X-Toolforge-Session"


class CallRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    arguments: dict[str, Any] = Field(default_factory=dict,
                                      description="the tool's arguments, by name")
    session: str | None = Field(default=None, max_length=200,
                                description="the caller's session id, kept in usage records "
                                            f"(or the {SESSION_HEADER} header)")
    timeout_s: float | None = Field(default=None, gt=0,
                                    description="a shorter wall-time limit for this call")
    caller: str = Field(default="daemon", max_length=40, pattern=r"^[a-z][a-z0-9_-]*$",
                        description="who is calling, kept in usage records")


@router.post("/tools/{name}/call", response_model=ToolCallResult,
             summary="Call an active tool (its promoted code, in the sandbox)")
async def call_tool(ctx: Ctx, name: str, body: CallRequest | None = None,
                    x_toolforge_session: Annotated[str | None, Header(max_length=200)] = None
                    ) -> Response:
    request = body or CallRequest()

    def work() -> ToolCallResult:
        with ctx.services.use() as svc:
            result: ToolCallResult = svc.call_tool(
                name, request.arguments, caller=request.caller,
                session=request.session or x_toolforge_session, timeout_s=request.timeout_s)
            return result

    # In the call lane: calls that run long never hold the threads reads need.
    return as_json(await ctx.lanes.call.run(work))


@router.get("/usage", response_model=UsageReport, summary="Tool calls per tool and version")
def usage(ctx: Ctx, tool: str | None = None,
          since: Annotated[float | None, Query(description="unix time: only calls since",
                                              allow_inf_nan=False)]
          = None) -> Response:
    with ctx.services.use() as svc:
        return as_json(svc.usage(tool, since))
