"""Evolution triggers: failure threshold, consumption, plateau, rate limit, success streaks."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from toolforge.errors import ConfigError, NotFoundError
from toolforge.evolve.trajectories import STATE_DB, Trajectory, TrajectoryStore
from toolforge.evolve.triggers import CycleLog, TriggerPolicy, decide
from toolforge.library.settings import LibrarySettings, parse_settings
from toolforge.llm.usage import UsageTotals

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path) -> TrajectoryStore:
    return TrajectoryStore(tmp_path / STATE_DB)


@pytest.fixture
def cycles(store: TrajectoryStore) -> CycleLog:
    return CycleLog(store)


_clock = iter(range(1_000_000))


def run(store: TrajectoryStore, reward: float, **kw: object) -> Trajectory:
    """Record a run; each one a minute after the previous, so order is unambiguous."""
    started = NOW - timedelta(days=1) + timedelta(minutes=next(_clock))
    return store.record(Trajectory(task="t", reward=reward, started_at=started.isoformat(),
                                   **kw))  # type: ignore[arg-type]


def test_failure_threshold(store: TrajectoryStore, cycles: CycleLog) -> None:
    policy = TriggerPolicy()
    for _ in range(4):
        run(store, 0.0)
    d = decide(store, cycles, policy, NOW)
    assert not d.fire and d.reason == "not enough failures (4/5)"
    fifth = run(store, 0.4)
    run(store, 0.5)  # at the threshold: not a failure
    run(store, 1.0)
    d = decide(store, cycles, policy, NOW)
    assert d.fire and d.reason == "failure_threshold: 5 unhandled failures >= 5"
    assert len(d.failure_ids) == 5 and d.failure_ids[-1] == fifth.id  # oldest first


def test_cycle_consumes_its_failures(store: TrajectoryStore, cycles: CycleLog) -> None:
    policy = TriggerPolicy(failure_threshold=3)
    for _ in range(3):
        run(store, 0.0)
    d = decide(store, cycles, policy, NOW)
    assert d.fire
    cycle_id = cycles.start(d.reason, d.failure_ids, now=NOW)
    assert {t.handled_by for t in store.list(limit=None)} == {cycle_id}
    d2 = decide(store, cycles, policy, NOW)
    assert not d2.fire and d2.reason == "not enough failures (0/3)"
    # New failures count from zero again.
    run(store, 0.0)
    assert decide(store, cycles, policy, NOW).reason == "not enough failures (1/3)"

    record = cycles.finish(cycle_id, {"gaps": ["parse acme"], "promoted": 1},
                           usage=UsageTotals(prompt_tokens=100, completion_tokens=20,
                                             cost_usd=0.01))
    assert record.status == "done" and record.summary == {"gaps": ["parse acme"], "promoted": 1}
    assert (record.prompt_tokens, record.completion_tokens, record.cost_usd) == (100, 20, 0.01)
    assert record.trajectory_ids == d.failure_ids
    assert record.finished_at is not None


def test_start_is_atomic_and_claims_once(store: TrajectoryStore, cycles: CycleLog) -> None:
    ids = [run(store, 0.0).id for _ in range(4)]
    first = cycles.start("manual", ids[:3], now=NOW)
    second = cycles.start("manual", ids, now=NOW)
    assert cycles.get(first).trajectory_ids == ids[:3]
    assert cycles.get(second).trajectory_ids == ids[3:]  # only what was still unhandled
    # If recording the cycle fails, no failure stays marked (one transaction).
    with sqlite3.connect(store.db_path) as conn:
        conn.execute("CREATE TRIGGER no_cycles BEFORE INSERT ON cycles "
                     "BEGIN SELECT RAISE(ABORT, 'refused'); END")
    fresh = run(store, 0.0)
    with pytest.raises(sqlite3.IntegrityError, match="refused"):
        cycles.start("manual", [fresh.id], now=NOW)
    assert store.get(fresh.id).handled_by is None


def test_failed_cycle_can_release_its_failures(store: TrajectoryStore,
                                               cycles: CycleLog) -> None:
    ids = [run(store, 0.0).id for _ in range(2)]
    cycle_id = cycles.start("manual", ids, now=NOW)
    record = cycles.finish(cycle_id, None, error="LLM unreachable", release_failures=True)
    assert record.status == "failed" and record.error == "LLM unreachable"
    assert [t.id for t in store.unhandled_failures()] == ids
    with pytest.raises(NotFoundError):
        cycles.finish("nope", {})


def test_success_streak_never_fires(store: TrajectoryStore, cycles: CycleLog) -> None:
    policy = TriggerPolicy(failure_threshold=1, plateau_window=3)
    for _ in range(50):
        run(store, 1.0)
    d = decide(store, cycles, policy, NOW)
    assert not d.fire and d.failure_ids == [] and d.reason == "not enough failures (0/1)"
    # Even a flat, low-reward history fires nothing while every failure is handled.
    low = TriggerPolicy(failure_threshold=5, plateau_window=3, reward_threshold=0.5)
    ids = [run(store, 0.3).id for _ in range(6)]
    cycles.start("x", ids, now=NOW - timedelta(hours=2))
    assert not decide(store, cycles, low, NOW).fire


def test_plateau(store: TrajectoryStore, cycles: CycleLog) -> None:
    policy = TriggerPolicy(failure_threshold=100, plateau_window=4,
                           plateau_min_improvement=0.05)
    for reward in (0.0,) * 4 + (0.3,) * 4:
        run(store, reward)
    d = decide(store, cycles, policy, NOW)
    assert not d.fire and d.reason == "not enough failures (8/100)", "still improving"
    for _ in range(4):
        run(store, 0.3)  # last 4: 0.3, the 4 before: 0.3 -> no improvement, below 0.5
    d = decide(store, cycles, policy, NOW)
    assert d.fire
    assert d.reason.startswith("plateau: mean reward over last 4 runs improved < 0.05 and "
                               "below threshold")
    assert len(d.failure_ids) == 12


def test_no_plateau_above_the_reward_threshold(store: TrajectoryStore,
                                               cycles: CycleLog) -> None:
    policy = TriggerPolicy(failure_threshold=100, plateau_window=4)
    for reward in (0.9,) * 7 + (0.2,):
        run(store, reward)  # flat, but the last 4 average 0.725
    assert decide(store, cycles, policy, NOW).reason == "not enough failures (1/100)"


def test_plateau_needs_two_full_windows(store: TrajectoryStore, cycles: CycleLog) -> None:
    policy = TriggerPolicy(plateau_window=10)
    for _ in range(4):
        run(store, 0.0)
    for _ in range(15):
        run(store, None)  # type: ignore[arg-type]  # unscored runs do not count
    assert decide(store, cycles, policy, NOW).reason == "not enough failures (4/5)"


def test_rate_limit(store: TrajectoryStore, cycles: CycleLog) -> None:
    policy = TriggerPolicy(failure_threshold=1, max_cycles_per_hour=2)
    cycles.start("a", [], now=NOW - timedelta(minutes=90))  # outside the hour
    cycles.start("b", [], now=NOW - timedelta(minutes=50))
    run(store, 0.0)
    assert decide(store, cycles, policy, NOW).fire
    cycles.start("c", [], now=NOW - timedelta(minutes=5))
    d = decide(store, cycles, policy, NOW)
    assert not d.fire
    assert d.reason.startswith("rate limit: 2 cycles in the last hour")
    assert "failure_threshold" in d.reason
    assert decide(store, cycles, policy, NOW + timedelta(minutes=11)).fire
    assert cycles.count_since(NOW - timedelta(hours=1)) == 2
    assert [c.reason for c in cycles.recent(2)] == ["c", "b"]


def test_manual_fires_regardless(store: TrajectoryStore, cycles: CycleLog) -> None:
    policy = TriggerPolicy(max_cycles_per_hour=0)
    d = decide(store, cycles, policy, NOW, manual=True)
    assert d.fire and d.reason == "manual: 0 unhandled failures"
    failure = run(store, 0.0)
    assert decide(store, cycles, policy, NOW, manual=True).failure_ids == [failure.id]
    assert not decide(store, cycles, TriggerPolicy(failure_threshold=1,
                                                   max_cycles_per_hour=0), NOW).fire


def test_policy_from_settings() -> None:
    settings = LibrarySettings.model_validate({
        "failure_threshold": 8, "reward_threshold": 0.7,
        "evolve": {"plateau_window": 20, "max_cycles_per_hour": 1},
    })
    policy = TriggerPolicy.from_settings(settings)
    assert (policy.failure_threshold, policy.reward_threshold, policy.plateau_window,
            policy.max_cycles_per_hour, policy.plateau_min_improvement) == (8, 0.7, 20, 1, 0.05)
    assert TriggerPolicy.from_settings(LibrarySettings()) == TriggerPolicy()
    # toolforge.toml is read strictly: a bad or unknown [evolve] key names key and file.
    with pytest.raises(ConfigError, match=r"lib/toolforge.toml: evolve\.plateau_window = 0"):
        parse_settings({"evolve": {"plateau_window": 0}}, "lib/toolforge.toml")
    with pytest.raises(ConfigError, match=r"unknown key 'evolve\.mode'"):
        parse_settings({"evolve": {"mode": "arise"}}, "lib/toolforge.toml")


def test_cycle_log_opens_by_path(tmp_path: Path) -> None:
    log = CycleLog(tmp_path / STATE_DB)
    cycle_id = log.start("manual", [])
    assert log.get(cycle_id).status == "running"
    with pytest.raises(NotFoundError):
        log.get("missing")
