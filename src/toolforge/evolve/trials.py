"""A/B trials of patched tools: a new version serves a share of the calls, its runs'
rewards are compared with the active version's, and the winner stays.

- Start (`toolforge trials start NAME`, or evolution when `[trials] auto = true`): the
  candidate must be promotable (validated, passed, isolated) and a version of an active
  tool. A commit adds a `[trial]` table to its tool.toml (id, share, episodes, baseline);
  from then on every runtime reading the library routes `share` of the calls to it
  (runtime/routing.py).
- Episodes: runs (trajectories) that used the tool since the trial started, attributed to
  an arm by the version their calls ran (`metadata.tool_versions`, which toolforge's
  agents, `Forge` and the MCP run report fill in; other reporters may send it). A run that
  used both versions, or says nothing, counts for neither.
- Decision, once `episodes` runs are in with at least `min_per_arm` on each arm: the new
  version wins when its mean reward beats the old one's by more than `min_improvement`
  at the `confidence` level (the one-sided bound of a normal approximation of the
  difference of means). It is then promoted, after a commit that ends the trial and keeps
  its figures in the tool's provenance; otherwise the candidate is rejected with the
  figures as the reason. Either way the decision is a commit.
"""

from __future__ import annotations

import math
import statistics
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field, ValidationError

from toolforge.errors import ConflictError, NotFoundError, UsageError
from toolforge.library.meta import now_iso
from toolforge.library.settings import TrialSettings
from toolforge.library.store import CANDIDATES_DIR, TOOLS_DIR, Library, ToolFiles
from toolforge.runtime.routing import TrialSpec

if TYPE_CHECKING:
    from toolforge.evolve.trajectories import TrajectoryStore
    from toolforge.service.library_service import LibraryService

Log = Callable[[str], None]


class ArmStats(BaseModel):
    arm: Literal["baseline", "candidate"]
    version: int
    runs: int = 0
    mean: float | None = None
    std: float | None = None  # the spread of the rewards (sample standard deviation)


class TrialInfo(BaseModel):
    tool: str
    id: str
    share: float
    episodes: int
    started_at: str
    baseline: ArmStats
    candidate: ArmStats
    unattributed: int = 0  # runs of the tool that say nothing of the version they used
    mixed: int = 0  # runs that used both versions
    due: bool = False  # enough episodes: the next decision is final

    @property
    def done(self) -> int:
        return self.baseline.runs + self.candidate.runs


class TrialDecision(BaseModel):
    tool: str
    outcome: Literal["promoted", "rejected", "waiting"]
    reason: str
    trial: TrialInfo
    version: int | None = None
    commit: str | None = None


class TrialStart(BaseModel):
    tool: str
    trial: TrialSpec
    candidate: int
    commit: str
    warnings: list[str] = Field(default_factory=list)


def trial_of(files: ToolFiles) -> TrialSpec | None:
    raw = (files.meta.model_extra or {}).get("trial")
    if not isinstance(raw, dict):
        return None
    try:
        return TrialSpec.model_validate(raw)
    except ValidationError:
        return None


# --- starting and ending -------------------------------------------------------------------


def start_trial(svc: LibraryService, name: str, *, share: float | None = None,
                episodes: int | None = None) -> TrialStart:
    """Put candidate `name` on trial against its active version (one commit)."""
    from toolforge.names import validate_tool_name

    validate_tool_name(name)
    lib = svc.library
    defaults = lib.settings().trials
    chosen = defaults.model_copy(update={k: v for k, v in (("share", share),
                                                            ("episodes", episodes))
                                         if v is not None})
    try:
        chosen = TrialSettings.model_validate(chosen.model_dump())
    except ValidationError as exc:
        raise UsageError(f"bad trial setting: {exc.errors()[0]['msg']}",
                         hint="--share is a fraction between 0 and 1, --episodes >= 2"
                         ) from None
    active = lib.find_current(name, TOOLS_DIR)
    if active is None or active.meta.status != "active":
        lib.read_current(name, CANDIDATES_DIR)  # no new version either: not_found first
        raise ConflictError(f"{name} has no active version to compare with",
                            hint=f"a trial compares a new version with the active one; "
                                 f"promote it directly: `toolforge promote {name}`")
    candidate = lib.read_current(name, CANDIDATES_DIR)  # NotFoundError with a hint
    if trial_of(candidate) is not None:
        raise ConflictError(f"{name} v{candidate.meta.version} is on trial already",
                            hint="see `toolforge trials`")
    svc.check_promotable(name)  # the same check as promote
    spec = TrialSpec(id=uuid.uuid4().hex[:12], share=chosen.share, episodes=chosen.episodes,
                     baseline=active.meta.version, started_at=now_iso())

    def edit(_: str, files: ToolFiles) -> bool:
        extra = files.meta.model_extra
        assert extra is not None
        extra["trial"] = spec.model_dump()
        return True

    subject = (f"start trial of {name} v{candidate.meta.version} against v{spec.baseline} "
               f"({spec.share:.0%} of calls, {spec.episodes} episodes)")
    result = lib.edit_meta([(name, CANDIDATES_DIR)], edit, action="trial-start",
                           subject=subject, trailers=(("Toolforge-Trial", spec.id),))
    assert result is not None
    return TrialStart(tool=name, trial=spec, candidate=candidate.meta.version,
                      commit=result.commit, warnings=result.warnings)


def end_trial(svc: LibraryService, name: str, *, why: str = "ended by hand",
              record: dict[str, Any] | None = None) -> str:
    """Stop routing calls to the candidate (it stays a candidate); the commit."""
    lib = svc.library
    candidate = lib.read_current(name, CANDIDATES_DIR)
    spec = trial_of(candidate)
    if spec is None:
        raise NotFoundError(f"{name} is not on trial", hint="see `toolforge trials`")

    def edit(_: str, files: ToolFiles) -> bool:
        extra = files.meta.model_extra
        assert extra is not None
        extra.pop("trial", None)
        if record is not None:
            prov = files.meta.provenance.model_extra
            assert prov is not None
            prov["trial"] = record
        return True

    result = lib.edit_meta([(name, CANDIDATES_DIR)], edit, action="trial-end",
                           subject=f"end trial of {name} v{candidate.meta.version}: {why}",
                           trailers=(("Toolforge-Trial", spec.id),))
    assert result is not None
    return result.commit


# --- episodes and the decision -------------------------------------------------------------


def trial_info(root: Path, name: str, files: ToolFiles, spec: TrialSpec,
               store: TrajectoryStore, settings: TrialSettings) -> TrialInfo:
    """The trial's figures so far, from the recorded runs."""
    rewards: dict[int, list[float]] = {spec.baseline: [], files.meta.version: []}
    unattributed = mixed = 0
    for t in store.iter(since=spec.started_at, limit=None, oldest_first=True):
        if name not in t.tools_used:
            continue
        reward = t.reward if t.reward is not None else (
            None if t.success is None else float(t.success))
        if reward is None:
            continue
        used = ((t.metadata or {}).get("tool_versions") or {}).get(name)
        if isinstance(used, list):
            mixed += 1
        elif isinstance(used, int) and used in rewards:
            rewards[used].append(reward)
        else:
            unattributed += 1
    base = _arm("baseline", spec.baseline, rewards[spec.baseline])
    cand = _arm("candidate", files.meta.version, rewards[files.meta.version])
    info = TrialInfo(tool=name, id=spec.id, share=spec.share, episodes=spec.episodes,
                     started_at=spec.started_at, baseline=base, candidate=cand,
                     unattributed=unattributed, mixed=mixed)
    info.due = (info.done >= spec.episodes and base.runs >= settings.min_per_arm
                and cand.runs >= settings.min_per_arm)
    return info


def compare(info: TrialInfo, settings: TrialSettings) -> tuple[bool, str]:
    """(the candidate wins, why): its mean must beat the baseline's by more than
    `min_improvement` at the `confidence` level."""
    a, b = info.baseline, info.candidate
    assert a.mean is not None and b.mean is not None
    diff = b.mean - a.mean
    se = math.sqrt((a.std or 0.0) ** 2 / max(a.runs, 1) + (b.std or 0.0) ** 2 / max(b.runs, 1))
    z = statistics.NormalDist().inv_cdf(settings.confidence)
    low = diff - z * se
    figures = (f"v{b.version} mean {b.mean:.3f} ± {b.std or 0:.3f} (n={b.runs}) vs "
               f"v{a.version} {a.mean:.3f} ± {a.std or 0:.3f} (n={a.runs}); difference "
               f"{diff:+.3f}, {settings.confidence:.0%} lower bound {low:+.3f}")
    if low > settings.min_improvement:
        return True, f"v{b.version} wins: {figures}"
    return False, f"v{a.version} kept: {figures}"


def decide_trial(root: Path, name: str, *, force: bool = False, log: Log | None = None
                 ) -> TrialDecision:
    """Decide a trial that has run its episodes (or now, with `force`): promote the new
    version or reject it, each a commit. "waiting" while episodes are missing."""
    from toolforge.evolve.trajectories import default_store
    from toolforge.service.library_service import LibraryService

    say = log or (lambda _text: None)
    svc = LibraryService(root)
    try:
        lib = svc.library
        settings = lib.settings().trials
        candidate = lib.read_current(name, CANDIDATES_DIR)
        spec = trial_of(candidate)
        if spec is None:
            raise NotFoundError(f"{name} is not on trial", hint="see `toolforge trials`")
        store = default_store(root, lib.settings().reward_threshold)
        info = trial_info(root, name, candidate, spec, store, settings)
        if not info.due and not force:
            return TrialDecision(tool=name, outcome="waiting", trial=info,
                                 reason=f"{info.done}/{spec.episodes} episodes "
                                        f"({info.baseline.runs} on v{spec.baseline}, "
                                        f"{info.candidate.runs} on v{info.candidate.version})")
        if info.baseline.runs == 0 or info.candidate.runs == 0:
            raise ConflictError(f"the trial of {name} has no runs on one of its arms",
                                hint="wait for more runs, or end it: "
                                     f"`toolforge trials end {name}`")
        wins, why = compare(info, settings)
        say(f"trial of {name}: {why}")
        record = {"id": spec.id, "decided_at": now_iso(), "result": why,
                  "baseline": info.baseline.model_dump(), "candidate": info.candidate.model_dump()}
        if wins:
            end_trial(svc, name, why=f"v{candidate.meta.version} wins", record=record)
            promoted = svc.promote(name)
            return TrialDecision(tool=name, outcome="promoted", reason=why, trial=info,
                                 version=promoted.version, commit=promoted.commit)
        rejected = svc.reject(name, f"A/B trial: {why}")
        return TrialDecision(tool=name, outcome="rejected", reason=why, trial=info,
                             version=candidate.meta.version, commit=rejected.commit)
    finally:
        svc.close()


def list_trials(root: Path, store: TrajectoryStore | None = None) -> list[TrialInfo]:
    """Every trial in progress, with its figures."""
    from toolforge.evolve.trajectories import default_store

    lib = Library.open(root)
    try:
        settings = lib.settings().trials
        store = store or default_store(root, lib.settings().reward_threshold)
        out = []
        # Only candidates can be on trial: the daemon asks every 10 s, and reading every
        # active tool's tool.toml each time kept an idle daemon busy in a large library.
        for entry in lib.entries((CANDIDATES_DIR,)):
            if entry.meta is None:
                continue
            files = lib.find_current(entry.name, CANDIDATES_DIR)
            spec = trial_of(files) if files is not None else None
            if files is not None and spec is not None:
                out.append(trial_info(root, entry.name, files, spec, store, settings))
        return out
    finally:
        lib.close()


def due_trials(root: Path, store: TrajectoryStore) -> list[str]:
    """Tools whose trial has run its episodes."""
    return [t.tool for t in list_trials(root, store) if t.due]


def _arm(arm: Literal["baseline", "candidate"], version: int, values: list[float]
         ) -> ArmStats:
    if not values:
        return ArmStats(arm=arm, version=version)
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return ArmStats(arm=arm, version=version, runs=len(values),
                    mean=round(statistics.fmean(values), 6), std=round(std, 6))
