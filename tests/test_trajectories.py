"""The trajectory store: round trip, filters, prefix lookup, consumption, export, and
concurrent writers in threads and processes."""

from __future__ import annotations

import io
import json
import multiprocessing
import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from toolforge.errors import ConflictError, NotFoundError, ToolforgeError
from toolforge.evolve.rewards import NumberCheck
from toolforge.evolve.trajectories import (
    STATE_DB,
    Step,
    Trajectory,
    TrajectoryStore,
    default_store,
    ensure_schema,
)

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def at(minutes: int) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat()


@pytest.fixture
def store(tmp_path: Path) -> TrajectoryStore:
    return TrajectoryStore(tmp_path / "state" / STATE_DB)


def full_trajectory() -> Trajectory:
    return Trajectory(
        task_id="sum-1", task="Sum the bytes in log A", group="acme",
        steps=[
            Step(index=0, kind="tool_call", tool="parse_log", arguments={"path": "a.log"},
                 result={"rows": [1, 2]}, duration_ms=3.5),
            Step(index=1, kind="error", error="ValueError: bad row"),
            Step(index=2, kind="message", result="thinking aloud"),
        ],
        final_answer="1234", expected=NumberCheck(value=1234), reward=1.0,
        tools_offered=["parse_log", "sum"], model="scripted", prompt_tokens=120,
        completion_tokens=30, cost_usd=0.0012, duration_ms=812.5, started_at=at(0),
        metadata={"run": 3},
    )


def test_round_trip(store: TrajectoryStore) -> None:
    t = store.record(full_trajectory())
    assert len(t.id) == 32 and t.success is True
    back = store.get(t.id)
    assert back.model_dump(exclude={"expected"}) == t.model_dump(exclude={"expected"})
    assert back.expected == {"kind": "number", "value": 1234.0, "abs_tol": 1e-6,
                             "rel_tol": 1e-6}
    assert back.tools_used == ["parse_log"]  # derived from the steps
    assert back.steps[0].arguments == {"path": "a.log"}
    assert back.total_tokens == 150


def test_success_follows_the_reward(store: TrajectoryStore) -> None:
    assert store.record(Trajectory(task="a", reward=0.49)).success is False
    assert store.record(Trajectory(task="a", reward=0.5)).success is True
    # An explicit success flag does not override the reward...
    assert store.record(Trajectory(task="a", reward=0.1, success=True)).success is False
    # ...but stands when there is no reward; a crashed run without either is a failure.
    assert store.record(Trajectory(task="a", success=True)).success is True
    assert store.record(Trajectory(task="a", error="boom")).success is False
    assert store.record(Trajectory(task="a")).success is None
    assert len(store.list(failed=True)) == 3


def test_store_threshold(tmp_path: Path) -> None:
    strict = TrajectoryStore(tmp_path / "s.sqlite", reward_threshold=0.9)
    assert strict.record(Trajectory(task="a", reward=0.8)).success is False
    assert [t.reward for t in strict.unhandled_failures(threshold=0.5)] == []
    assert len(strict.unhandled_failures()) == 1


def test_validation() -> None:
    with pytest.raises(ValidationError):
        Trajectory(task="a", reward=1.5)
    with pytest.raises(ValidationError):
        Trajectory(task="a", reward=float("nan"))
    with pytest.raises(ValidationError):
        Trajectory(task="a", id="has space")
    with pytest.raises(ValidationError):
        Trajectory(task="a", started_at="yesterday")
    with pytest.raises(ValidationError):
        Trajectory.model_validate({"task": "a", "rewrad": 1})
    # Reporter conveniences: step index and kind inferred, times normalised to UTC.
    t = Trajectory.model_validate({
        "task": "a", "started_at": "2025-01-01T01:00:00+01:00",
        "steps": [{"tool": "x", "arguments": {}}, {"error": "e"}, {"result": "hi"}],
    })
    assert [(s.index, s.kind) for s in t.steps] == [(0, "tool_call"), (1, "error"),
                                                    (2, "message")]
    assert t.started_at == "2025-01-01T00:00:00.000000+00:00"


def test_filters_and_order(store: TrajectoryStore) -> None:
    store.record_many([
        Trajectory(id="a1", task="t", task_id="k1", group="g1", reward=1.0, started_at=at(1)),
        Trajectory(id="a2", task="t", task_id="k1", group="g1", reward=0.0, started_at=at(2)),
        Trajectory(id="a3", task="t", task_id="k2", group="g2", reward=0.2, started_at=at(3),
                   source="report"),
        Trajectory(id="a4", task="t", task_id="k2", reward=0.9, started_at=at(4)),
    ])
    ids = lambda ts: [t.id for t in ts]  # noqa: E731
    assert ids(store.list()) == ["a4", "a3", "a2", "a1"]  # newest first
    assert ids(store.list(oldest_first=True, limit=2)) == ["a1", "a2"]
    assert ids(store.list(failed=True)) == ["a3", "a2"]
    assert ids(store.list(failed=False)) == ["a4", "a1"]
    assert ids(store.list(task_id="k1")) == ["a2", "a1"]
    assert ids(store.list(group="g2")) == ["a3"]
    assert ids(store.list(source="report")) == ["a3"]
    assert ids(store.list(since=at(3))) == ["a4", "a3"]
    assert ids(store.list(since=T0 + timedelta(minutes=3, seconds=1))) == ["a4"]
    assert ids(store.list(limit=1)) == ["a4"]
    assert ids(store.unhandled_failures()) == ["a2", "a3"]  # oldest first
    store.mark_handled(["a2"], "cycle-1")
    assert ids(store.list(unhandled=True, failed=True)) == ["a3"]
    assert ids(store.list(unhandled=False)) == ["a2"]
    assert store.recent_rewards(3) == [0.9, 0.2, 0.0]

    stats = store.stats()
    assert (stats.total, stats.failures, stats.unhandled_failures, stats.handled) == (4, 2, 1, 1)
    assert stats.mean_reward == pytest.approx(0.525)
    assert stats.by_group["g1"].total == 2 and stats.by_group["g1"].failures == 1
    assert stats.by_group[""].total == 1
    assert stats.by_source == {"builtin-agent": 3, "report": 1}


def test_prefix_lookup(store: TrajectoryStore) -> None:
    store.record_many([Trajectory(id=i, task="t") for i in ("abc123", "abd456", "x_y", "xay")])
    assert store.get("abc").id == "abc123"
    assert store.get("abd456").id == "abd456"
    with pytest.raises(ToolforgeError, match="matches several") as info:
        store.get("ab")
    assert "abc123" in info.value.message and info.value.hint
    with pytest.raises(NotFoundError):
        store.get("zzz")
    with pytest.raises(NotFoundError):
        store.get("  ")
    assert store.get("x_").id == "x_y"  # `_` is no wildcard
    assert store.get("xa").id == "xay"


def test_duplicate_ids_record_nothing(store: TrajectoryStore) -> None:
    store.record(Trajectory(id="dup", task="t"))
    with pytest.raises(ConflictError, match="dup"):
        store.record_many([Trajectory(id="new", task="t"), Trajectory(id="dup", task="t")])
    with pytest.raises(ConflictError, match="twice"):
        store.record_many([Trajectory(id="twice", task="t"), Trajectory(id="twice", task="t")])
    assert [t.id for t in store.list()] == ["dup"]


def test_mark_handled_claims_only_unhandled(store: TrajectoryStore) -> None:
    store.record_many([Trajectory(id=f"f{i}", task="t", reward=0.0) for i in range(3)])
    assert store.mark_handled(["f0", "f1", "missing"], "c1") == ["f0", "f1"]
    assert store.mark_handled(["f1", "f2"], "c2") == ["f2"]  # f1 stays with c1
    assert store.get("f1").handled_by == "c1"
    assert store.unhandled_failures() == []
    assert store.release("c1") == 2
    assert [t.id for t in store.unhandled_failures()] == ["f0", "f1"]


def test_export_jsonl(store: TrajectoryStore) -> None:
    store.record(full_trajectory())
    store.record(Trajectory(id="late", task="t2", reward=0.0, started_at=at(5)))
    buf = io.StringIO()
    assert store.export_jsonl(buf) == 2
    lines = buf.getvalue().splitlines()
    docs = [json.loads(line) for line in lines]
    assert [d["task"] for d in docs] == ["Sum the bytes in log A", "t2"]  # oldest first
    assert Trajectory.model_validate(docs[0]).steps[0].tool == "parse_log"
    buf = io.StringIO()
    assert store.export_jsonl(buf, failed=True) == 1
    assert json.loads(buf.getvalue())["id"] == "late"


def test_schema_version_and_wal(tmp_path: Path) -> None:
    db = tmp_path / STATE_DB
    TrajectoryStore(db)
    TrajectoryStore(db)  # idempotent
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("SELECT version FROM schema_version WHERE component = "
                            "'trajectories'").fetchone()[0] == 1
        conn.execute("UPDATE schema_version SET version = 99")
    with pytest.raises(ToolforgeError, match=r"newer|v99"):
        ensure_schema(db, "trajectories", 1, "")


def test_default_store_location(library: Path) -> None:
    store = default_store(library)
    assert store.db_path == library / ".toolforge" / STATE_DB
    store.record(Trajectory(task="t"))
    assert store.count() == 1


def test_concurrent_threads(store: TrajectoryStore) -> None:
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(25):
                store.record(Trajectory(task=f"thread {n} run {i}", reward=i % 2))
                store.list(limit=5)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert store.count() == 100


def _writer(db: str, n: int, count: int) -> None:
    store = TrajectoryStore(db)  # each process also races to create the schema
    for i in range(count):
        store.record(Trajectory(id=f"p{n}-{i}", task=f"proc {n} run {i}", reward=0.0))
        if i % 10 == 0:
            store.mark_handled([f"p{n}-{i}"], f"cycle-{n}")


def test_concurrent_processes(tmp_path: Path) -> None:
    db = tmp_path / "fresh" / STATE_DB
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_writer, args=(str(db), n, 40)) for n in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=60)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    store = TrajectoryStore(db)
    assert store.count() == 160
    assert len(store.list(unhandled=False, limit=None)) == 16
    assert len({t.id for t in store.list(limit=None)}) == 160
