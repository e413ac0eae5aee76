"""Every validation inside the daemon runs as a job — also the ones a service method starts
itself (`add` validates the candidate it wrote).

Each pooled LibraryService gets a `validate` that queues a `validate` job and waits for it,
so the concurrency limit, `toolforge jobs`, cancellation and the job log cover all of them,
while the service's own logic around the call (warnings, details, policies) stays as it is.
On a job worker the original runs directly: a worker waiting for another job could deadlock
a full pool.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from toolforge.daemon.errors import DaemonError
from toolforge.daemon.jobs import JobManager
from toolforge.daemon.models import JobInfo
from toolforge.errors import ToolforgeError


def route_validations_through_jobs(svc: Any, jobs: JobManager) -> None:
    if getattr(type(svc), "validate", None) is None:
        return

    def validate(name: str | None = None, *, log: Callable[[str], None] | None = None,
                 cancel: Any = None, **kwargs: Any) -> Any:
        if jobs.in_worker():
            return type(svc).validate(svc, name, log=log, cancel=cancel, **kwargs)
        params = dict(kwargs)
        if params.get("extra_suites"):
            params["extra_suites"] = [list(pair) for pair in params["extra_suites"]]
        job = jobs.submit("validate", name, params)
        done = jobs.wait(job.id, log=log, cancel=cancel)
        if done.state != "succeeded":
            raise job_error(done)
        return as_report(done.result)

    svc.validate = validate


def job_error(job: JobInfo) -> ToolforgeError:
    """The error a failed job stands for: the service's own, raised again as itself."""
    if job.state == "cancelled":
        return DaemonError(f"validation job {job.id} was cancelled ({job.error})",
                           hint=f"see `toolforge jobs {job.id}`")
    if job.error_kind:
        from toolforge.daemon.client import error_class

        return error_class(job.error_kind)(job.error or "failed", hint=job.error_hint)
    return ToolforgeError(f"job {job.id} ({job.kind}) failed: {job.error}",
                          hint=f"its log: `toolforge jobs {job.id}`")


def as_report(result: Any) -> Any:
    """A validate job's JSON result as the ValidationReport LibraryService.validate returns."""
    try:
        from toolforge.validation.report import ValidationReport
    except ImportError:  # a build without the validation package: plain data
        return result
    return ValidationReport.model_validate(result)
