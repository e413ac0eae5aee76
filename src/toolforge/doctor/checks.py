"""`toolforge doctor`: is this machine and this configuration ready, and if not, what fixes it.

Each check gives a status (`ok`, `info`, `warn`, `error`), a one-line summary, structured
details, and for anything but `ok`/`info` the fix. `error` means something toolforge needs
does not work (the exit code is then 1); `warn` means a part you may not need yet (no model
configured) or a library setting that does not apply.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from toolforge import __version__
from toolforge.errors import ConfigError, ToolforgeError

Status = Literal["ok", "info", "warn", "error"]
MIN_PYTHON = (3, 11)
MIN_GIT = (2, 28)  # `git init --initial-branch`


class Check(BaseModel):
    id: str
    title: str
    status: Status
    summary: str
    fix: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)


class DoctorReport(BaseModel):
    ok: bool  # no check is an error
    errors: int
    warnings: int
    library: str | None
    checks: list[Check]


def run_doctor(library: Path | str | None = None, *, probe_model: bool = True) -> DoctorReport:
    """Every check, in the order a person would fix things."""
    from toolforge.config.user import user_config_path
    from toolforge.library.discovery import is_library, locate_library

    where = locate_library(library)
    root = where.path if is_library(where.path) else None
    checks = [_python(), _git(), _library(where.path, where.found_by, root is not None)]
    if root is not None:
        checks += [_recovery(root), _damaged_state(root)]
    settings, config_checks = _config(root)
    checks += config_checks
    requested, requested_by = ("auto", "default") if settings is None else (
        settings.backend, settings.backend_source)
    allow_unisolated = settings is not None and settings.allow_unisolated
    checks += _sandbox(requested, requested_by, allow_unisolated, user_config_path())
    checks += _model(settings, probe_model)
    checks.append(_daemon(root))
    errors = sum(c.status == "error" for c in checks)
    return DoctorReport(ok=errors == 0, errors=errors,
                        warnings=sum(c.status == "warn" for c in checks),
                        library=str(root) if root else None, checks=checks)


# --- the machine -------------------------------------------------------------------------


def _python() -> Check:
    v = sys.version_info
    details = {"version": f"{v.major}.{v.minor}.{v.micro}", "executable": sys.executable,
               "virtualenv": sys.prefix != sys.base_prefix, "toolforge": __version__}
    if (v.major, v.minor) < MIN_PYTHON:
        return Check(id="python", title="Python", status="error", details=details,
                     summary=f"Python {details['version']} is too old",
                     fix="install Python >= 3.11 (sudo apt-get install -y python3.11 "
                     "python3.11-venv) and recreate the virtualenv with it")
    return Check(id="python", title="Python", status="ok", details=details,
                 summary=f"Python {details['version']} ({sys.executable})")


def _git() -> Check:
    path = shutil.which("git")
    version = None
    if path is not None:
        try:
            out = subprocess.run([path, "--version"], capture_output=True, text=True,
                                 timeout=10, stdin=subprocess.DEVNULL).stdout
            found = re.search(r"\d+(\.\d+)+", out)
            version = found.group(0) if found else None
        except (OSError, subprocess.SubprocessError):
            pass
    details = {"path": path, "version": version}
    if path is None:
        return Check(id="git", title="git", status="error", details=details,
                     summary="git is not installed: every library is a git repository",
                     fix="sudo apt-get install -y git")
    numbers = tuple(int(n) for n in (version or "0").split(".")[:2])
    if numbers < MIN_GIT:
        return Check(id="git", title="git", status="error", details=details,
                     summary=f"git {version or '(unknown version)'} is older than "
                     f"{'.'.join(map(str, MIN_GIT))}",
                     fix="install a newer git (sudo apt-get install -y git on a current "
                     "Debian/Ubuntu)")
    return Check(id="git", title="git", status="ok", details=details,
                 summary=f"git {version} ({path})")


def _recovery(root: Path) -> Check:
    """Interrupted changes whose journal recovery could not act on (library/recovery.py)."""
    from toolforge.library.localstate import STATE_DIR
    from toolforge.library.recovery import REPORT_FILE, set_aside_journals

    state = root / STATE_DIR
    kept, lines = set_aside_journals(state)
    details = {"set_aside": [str(p) for p in kept], "reports": lines[-10:]}
    if not kept:
        return Check(id="recovery", title="interrupted changes", status="ok",
                     details=details, summary="none set aside")
    return Check(id="recovery", title="interrupted changes", status="warn", details=details,
                 summary=f"{len(kept)} interrupted change(s) could not be checked and were "
                 f"set aside, nothing replayed: {lines[-1] if lines else kept[-1].name}",
                 fix=f"read {state / REPORT_FILE}; check the paths it names (`toolforge "
                 f"show`, `git status`), then delete {state}/journal.stale-*.json and "
                 "journal.torn-*.json")


def _damaged_state(root: Path) -> Check:
    """State databases found damaged and moved aside (statedb.quarantine). In daemon mode
    the move is said only in the daemon's log, so this is where a person sees it."""
    from toolforge.library.localstate import STATE_DIR

    state = root / STATE_DIR
    moved = sorted(p for p in state.glob("*.sqlite.corrupt-*")
                   if not p.name.endswith(("-wal", "-shm", "-journal")))
    details = {"moved_aside": [str(p) for p in moved]}
    if not moved:
        return Check(id="state", title="state databases", status="ok", details=details,
                     summary="none damaged")
    return Check(id="state", title="state databases", status="warn", details=details,
                 summary=f"{len(moved)} damaged state database(s) moved aside and started "
                 f"afresh: {', '.join(p.name for p in moved[-3:])}",
                 fix=f"caches rebuild themselves; trajectories and usage counts stay in the "
                 f"moved files (open them with sqlite3 to recover rows), then delete "
                 f"{state}/*.corrupt-*")


def _library(path: Path, found_by: str, exists: bool) -> Check:
    from toolforge.library.discovery import not_a_library_error

    details = {"path": str(path), "found_by": found_by}
    if exists:
        return Check(id="library", title="library", status="ok", details=details,
                     summary=f"{path} (found by: {found_by})")
    err = not_a_library_error(path)
    return Check(id="library", title="library", status="info", details=details,
                 summary=f"no library here: {err.message}", fix=err.hint)


# --- settings ----------------------------------------------------------------------------


def _config(root: Path | None) -> tuple[Any, list[Check]]:
    from toolforge.config.effective import effective_settings
    from toolforge.config.user import user_config_path

    user_path = user_config_path()
    try:
        settings = effective_settings(root)
    except ToolforgeError as exc:
        return None, [Check(id="config", title="settings", status="error",
                            summary=exc.message, fix=exc.hint,
                            details={"user_config": str(user_path)})]
    details = {"user_config": str(user_path), "user_config_exists": settings.user.exists,
               "library_settings": str(settings.library_file) if settings.library_file
               else None, "backend": settings.backend, "backend_source": settings.backend_source,
               "limits": settings.limits.model_dump(), "policy": settings.policy.model_dump(),
               "fuzz": settings.fuzz, "allow_unisolated": settings.allow_unisolated}
    found = "exists" if settings.user.exists else "not created (defaults apply)"
    checks = [Check(id="config", title="settings", status="ok", details=details,
                    summary=f"valid; user config {user_path} {found}")]
    if settings.refused:
        checks.append(Check(
            id="library_settings", title="library settings", status="warn",
            summary=f"{len(settings.refused)} setting(s) of {settings.library_file} do not "
            "apply: a library may not choose them",
            fix="\n".join(f"{r.key}: {r.fix}" for r in settings.refused if r.fix) or None,
            details={"refused": [r.model_dump() for r in settings.refused]}))
    return settings, checks


# --- the sandbox -------------------------------------------------------------------------


def _sandbox(requested: str, requested_by: str, allow_unisolated: bool,
             user_config: Path) -> list[Check]:
    from dataclasses import asdict

    from toolforge.doctor.sandbox import isolation_fix, sandbox_facts

    facts = sandbox_facts(requested, requested_by)
    details = asdict(facts)
    checks = []
    if facts.bwrap_path is None:
        checks.append(Check(id="bwrap", title="bubblewrap", status="warn",
                            summary="not installed", fix="sudo apt-get install -y bubblewrap",
                            details=details))
    elif facts.bwrap_problem:
        checks.append(Check(id="bwrap", title="bubblewrap", status="warn",
                            summary=f"{facts.bwrap_path} {facts.bwrap_version or ''} cannot "
                            f"start a sandbox: {facts.bwrap_problem}",
                            fix=isolation_fix(facts, user_config), details=details))
    else:
        checks.append(Check(id="bwrap", title="bubblewrap", status="ok", details=details,
                            summary=f"{facts.bwrap_path} {facts.bwrap_version or ''} starts "
                            "sandboxes"))
    checks.append(_userns(facts))
    checks.append(Check(
        id="kernel", title="kernel features", status="info", details=details,
        summary=f"Landlock ABI {facts.landlock_abi or 'unavailable'}; seccomp "
        f"{'available' if facts.seccomp else 'unavailable'}; per-sandbox memory bound "
        f"{'by cgroup ' + facts.cgroup if facts.cgroup_memory else 'per process only'}"))
    if facts.chosen is None:
        checks.append(Check(id="backend", title="sandbox backend", status="error",
                            summary=facts.problem or facts.why, details=details,
                            fix=f"{isolation_fix(facts, user_config)}; or choose another "
                            f"backend ({requested_by})"))
    elif not facts.isolating and not allow_unisolated:
        checks.append(Check(
            id="backend", title="sandbox backend", status="error", details=details,
            summary=f"{facts.why}: it does NOT isolate network or filesystem, so validated "
            "tools cannot be promoted", fix=isolation_fix(facts, user_config)))
    elif not facts.isolating:
        checks.append(Check(id="backend", title="sandbox backend", status="warn",
                            details=details, summary=f"{facts.why}: NOT isolating; you accept "
                            "that (allow_unisolated = true)", fix=isolation_fix(facts,
                                                                                 user_config)))
    else:
        gaps = f"; not isolated: {'; '.join(facts.not_isolated)}" if facts.not_isolated else ""
        checks.append(Check(id="backend", title="sandbox backend", status="ok", details=details,
                            summary=facts.why + gaps))
    return checks


def _userns(facts: Any) -> Check:
    details = {"sysctls": facts.userns, "running_as_root": facts.running_as_root,
               "bwrap_setuid": facts.bwrap_setuid}
    restricted = [f"{k}={v}" for k, v in facts.userns.items()
                  if (k == "apparmor_restrict_unprivileged_userns" and v == 1)
                  or (k != "apparmor_restrict_unprivileged_userns" and v == 0)]
    works = facts.bwrap_path is not None and facts.bwrap_problem is None
    if works:
        how = "as root" if facts.running_as_root else "unprivileged"
        note = f" (despite {', '.join(restricted)})" if restricted else ""
        return Check(id="userns", title="user namespaces", status="ok", details=details,
                     summary=f"work {how}{note}")
    if restricted:
        return Check(id="userns", title="user namespaces", status="warn", details=details,
                     summary=f"restricted: {', '.join(restricted)}",
                     fix="see the bubblewrap fix above")
    return Check(id="userns", title="user namespaces", status="info", details=details,
                 summary="not tested (bubblewrap does not start)" if facts.bwrap_path
                 else "not tested (bubblewrap is not installed)")


# --- the model ---------------------------------------------------------------------------


def _model(settings: Any, probe: bool) -> list[Check]:
    from toolforge.doctor.endpoint import probe_endpoint
    from toolforge.llm.config import ROLES, config_hint

    if settings is None:
        return [Check(id="model", title="model", status="info",
                      summary="not checked: fix the settings first")]
    try:
        llm = settings.llm_settings()
    except ConfigError as exc:
        return [Check(id="model", title="model", status="error", summary=exc.message,
                      fix=exc.hint)]
    roles: dict[str, dict[str, Any]] = {}
    problems: list[str] = []
    for role in ROLES:
        if not llm.has_model(role):
            continue
        try:
            cfg = llm.for_role(role)
        except ConfigError as exc:
            problems.append(f"{role}: {exc.message}")
            continue
        roles[role] = {"model": cfg.model, "source": cfg.source, "api_base": cfg.api_base,
                       "key": "set" if cfg.api_key is not None else "none configured",
                       "cfg": cfg}
    if not roles and not problems:
        return [Check(id="model", title="model", status="warn",
                      summary="no model configured: `toolforge run` and `evolve` need one "
                      "(the demo and every library command do not)", fix=config_hint())]
    checks = []
    shown = {r: {k: v for k, v in d.items() if k != "cfg"} for r, d in roles.items()}
    if problems:
        checks.append(Check(id="model", title="model", status="error",
                            summary="; ".join(problems), details={"roles": shown},
                            fix="export the variables named above"))
    else:
        models = sorted({f"{d['model']}" for d in roles.values()})
        checks.append(Check(id="model", title="model", status="ok", details={"roles": shown},
                            summary=f"{', '.join(models)} for "
                            f"{', '.join(roles)}"))
    endpoints: dict[tuple[str, str | None], list[str]] = {}
    for name, d in roles.items():
        endpoints.setdefault((d["model"], d["api_base"]), []).append(name)
    for (model, base), for_roles in endpoints.items():
        cfg = roles[for_roles[0]]["cfg"]
        title = f"endpoint ({', '.join(for_roles)})"
        if not probe:
            checks.append(Check(id="endpoint", title=title, status="info",
                                summary="not contacted (--offline)",
                                details={"model": model, "api_base": base}))
            continue
        key = cfg.api_key.get_secret_value() if cfg.api_key is not None else None
        answer = probe_endpoint(model, base, key)
        details = {"model": model, "api_base": base, "url": answer.url,
                   "status": answer.status, "scripted": answer.scripted}
        if answer.url is None:
            checks.append(Check(id="endpoint", title=title, status="info",
                                summary=answer.detail, details=details))
        elif answer.ok:
            what = " — the scripted model, not a real LLM" if answer.scripted else ""
            checks.append(Check(id="endpoint", title=title, status="ok", details=details,
                                summary=f"{answer.url} {answer.detail}{what}"))
        else:
            checks.append(Check(
                id="endpoint", title=title, status="error", details=details,
                summary=f"{answer.url}: {answer.detail}",
                fix=("check the key paired with this endpoint (api_key_env in your user "
                     "config, or TOOLFORGE_API_KEY)" if answer.status in (401, 403) else
                     f"start the model server at {base or answer.url}, or point "
                     "TOOLFORGE_API_BASE (or api_base in your user config) at one that runs")))
    return checks


# --- the daemon --------------------------------------------------------------------------


def _daemon(root: Path | None) -> Check:
    if root is None:
        return Check(id="daemon", title="daemon", status="info",
                     summary="no library here, so no daemon to check")
    if os.environ.get("TOOLFORGE_NO_DAEMON", "").strip().lower() not in ("", "0", "false",
                                                                          "no"):
        return Check(id="daemon", title="daemon", status="info",
                     summary="disabled (TOOLFORGE_NO_DAEMON): commands run in-process")
    from toolforge.daemon import lifecycle

    try:
        status = lifecycle.status(root)
    except ToolforgeError as exc:
        return Check(id="daemon", title="daemon", status="error", summary=exc.message,
                     fix=exc.hint)
    details = status.model_dump(mode="json")
    if status.running and status.health is not None:
        health = status.health
        if health.version != __version__:
            return Check(id="daemon", title="daemon", status="warn", details=details,
                         summary=f"running (pid {health.pid}) but from toolforge "
                         f"{health.version}, not {__version__}",
                         fix="toolforge daemon restart")
        return Check(id="daemon", title="daemon", status="ok", details=details,
                     summary=f"running (pid {health.pid}, since {health.started_at}) on "
                     f"{status.socket}")
    note = " (removed a crashed daemon's files)" if status.stale_cleaned else ""
    return Check(id="daemon", title="daemon", status="info", details=details,
                 summary=f"not running{note}; the first command that needs it starts it")
