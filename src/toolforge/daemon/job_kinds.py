"""The kinds of job the daemon runs.

- `validate`: `LibraryService.validate(name, log=..., cancel=...)`. A build whose service has
  no `validate` yet fails the job with a clear error instead of crashing.
- `hand_edit`: queued by the watcher for a tool edited by hand: checks the edited files and,
  when the library's policy (`hand_edits = "candidate"`) says so, turns a valid edit of
  tools/<name> into a new candidate (an announced commit of candidates/<name>; the edit in
  tools/<name> itself is never committed or overwritten).
- `add`: `POST /v1/tools` with `Prefer: respond-async`: the add (and the validation it
  starts) as a job; its result is the ActionResult.
- `sleep`: for tests only, registered when TOOLFORGE_DAEMON_TEST_JOBS=1 is set in the
  daemon's environment.
"""

from __future__ import annotations

import inspect
import os
from typing import Any

from toolforge import pyast
from toolforge.daemon.errors import DaemonError
from toolforge.daemon.jobs import JobContext, JobKind, _jsonable
from toolforge.errors import ToolContractError, ToolforgeError, UsageError
from toolforge.library.incoming import read_optional_source, read_source
from toolforge.library.store import CANDIDATES_DIR, TEST_FILE, TOOL_FILE, TOOLS_DIR
from toolforge.service.models import ActionResult
from toolforge.tools.contract import load_tool_source

TEST_JOBS_ENV = "TOOLFORGE_DAEMON_TEST_JOBS"


def validate_job(ctx: JobContext) -> Any:
    """LibraryService.validate(tool, **params): by name, or given files (`code`, `tests`);
    params are the keyword arguments validate() takes (log and cancel are the job's)."""
    kwargs = dict(ctx.params)
    if kwargs.get("extra_suites"):
        kwargs["extra_suites"] = [tuple(pair) for pair in kwargs["extra_suites"]]
    with ctx.services.use() as svc:
        return _jsonable(_validate(svc, ctx, ctx.tool, **kwargs))


def _validate(svc: Any, ctx: JobContext, name: str | None, **kwargs: Any) -> Any:
    # The class's method, not the instance's job-queueing stand-in (see queued.py).
    validate = getattr(type(svc), "validate", None)
    if validate is None:
        raise DaemonError("validation is not available: this toolforge's service has no "
                          "validate()", hint="upgrade toolforge, then `toolforge daemon restart`")
    accepted = set(inspect.signature(validate).parameters) - {"self", "name", "log", "cancel"}
    unknown = sorted(set(kwargs) - accepted)
    if unknown:
        raise UsageError(f"validate takes no parameter {', '.join(unknown)}",
                         hint=f"it takes: {', '.join(sorted(accepted))}")
    return validate(svc, name, log=ctx.log, cancel=ctx.cancel_event, **kwargs)


def add_job(ctx: JobContext) -> dict[str, Any]:
    """LibraryService.add with an AddRequest's fields (checked again: a job may be
    submitted directly)."""
    from pydantic import ValidationError

    from toolforge.daemon.models import AddRequest

    try:
        body = AddRequest.model_validate(ctx.params)
    except ValidationError as exc:
        raise UsageError(f"bad add job params: {exc.errors()[0].get('msg', 'invalid')}",
                         hint="params are the POST /v1/tools body") from None
    with ctx.services.use() as svc:
        result = svc.add(body.code, body.tests, name=body.name, origin=body.origin,
                         provenance=body.provenance, validate=body.validate_,
                         title=body.title, annotations=body.annotations, meta=body.meta)
    ctx.log(f"{result.subject} ({result.commit[:12]})")
    ctx.bus.publish("tool_added", action=result.action, **action_fields(result))
    return result.model_dump(mode="json")


def hand_edit_job(ctx: JobContext) -> dict[str, Any]:
    tool = ctx.tool
    assert tool is not None
    location = ctx.params.get("location", TOOLS_DIR)
    if location not in (TOOLS_DIR, CANDIDATES_DIR):
        raise DaemonError(f"bad location {location!r}")
    outcome: dict[str, Any] = {"tool": tool, "location": location, "action": "reported"}
    with ctx.services.use() as svc:
        d = svc.root / location / tool
        try:  # hand edits are files coming in too: no symlinks, FIFOs, huge or binary files
            code = read_source(d / TOOL_FILE)
            tests = read_optional_source(d / TEST_FILE)
        except ToolforgeError as exc:
            ctx.log(f"{location}/{tool}: cannot read the edited files: {exc.message}")
            return {**outcome, "valid": False, "problem": exc.message}
        try:
            load_tool_source(code)
            if tests:
                pyast.parse(tests, filename=TEST_FILE)
        except (ToolContractError, SyntaxError, ValueError, RecursionError, MemoryError) as exc:
            problem = exc.message if isinstance(exc, ToolforgeError) else str(exc)
            ctx.log(f"{location}/{tool}: the edit breaks the tool contract: {problem}")
            return {**outcome, "valid": False, "problem": problem}
        ctx.log(f"{location}/{tool}: tool contract ok")
        if getattr(type(svc), "validate", None) is not None:
            # The edited files themselves, not what git or the candidate holds.
            validation = _jsonable(_validate(svc, ctx, tool, code=code, tests=tests,
                                             store=False))
            valid = _passed(validation)
            outcome["validation"] = validation
            ctx.log(f"{location}/{tool}: validation {'passed' if valid else 'failed'}")
        else:
            ctx.log("sandbox validation is not available; only the contract was checked")
            valid = True
        outcome["valid"] = valid
        policy = svc.library.settings().hand_edits
        outcome["policy"] = policy
        if policy != "candidate" or not valid or ctx.cancel_event.is_set():
            return outcome
        if location != TOOLS_DIR:
            ctx.log(f"candidates/{tool} itself was edited: reported only (adding would "
                    "overwrite the edit)")
            return outcome
        origin = f"hand edit of {TOOLS_DIR}/{tool}"
        result = svc.add(code, tests, name=tool, origin=origin,
                         provenance={"source": "hand-edit"})
        ctx.log(f"{result.subject} ({result.commit[:12]})")
        ctx.bus.publish("tool_added", **action_fields(result), origin=origin)
        return {**outcome, "action": "candidate", "candidate": result.model_dump(mode="json")}


def _passed(validation: Any) -> bool:
    """Read a validation result of unknown shape conservatively: pass only when it says so."""
    if isinstance(validation, bool):
        return validation
    if not isinstance(validation, dict):
        return False
    for key in ("passed", "ok"):
        if isinstance(validation.get(key), bool):
            return bool(validation[key])
    return str(validation.get("verdict", "")).lower() in ("passed", "pass", "ok")


def sleep_job(ctx: JobContext) -> dict[str, Any] | None:
    """Test job: logs `lines` lines, then waits `seconds` (cancellable); `fail` raises."""
    lines = int(ctx.params.get("lines", 0))
    for i in range(lines):
        ctx.log(f"line {i}")
    if ctx.cancel_event.wait(float(ctx.params.get("seconds", 0))):
        return None  # cancelled: the manager records it as such
    if ctx.params.get("fail"):
        raise DaemonError("sleep job failed as asked")
    return {"slept": True}


def action_fields(result: ActionResult) -> dict[str, Any]:
    return {"tool": result.tool, "version": result.version, "commit": result.commit,
            "subject": result.subject}


def default_kinds() -> dict[str, JobKind]:
    kinds = {
        "validate": JobKind(validate_job, needs_tool=False,
                            description="validate a tool (by name, or params code/tests)"),
        "hand_edit": JobKind(hand_edit_job, description="check a hand-edited tool"),
        "add": JobKind(add_job, needs_tool=False,
                       description="add a candidate (params: the POST /v1/tools body)"),
    }
    if os.environ.get(TEST_JOBS_ENV) == "1":
        kinds["sleep"] = JobKind(sleep_job, needs_tool=False, description="tests only")
    return kinds
