"""The usage store: what every tool call leaves behind for pruning, curation and TRR@k."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from toolforge.metrics.usage import CallEvent, UsageStore


def _event(tool: str, outcome: str = "ok", ms: float = 1.0, at: float = 1000.0,
           version: int | None = 1, **kw: object) -> CallEvent:
    return CallEvent(tool=tool, version=version, caller="test", outcome=outcome,
                     duration_ms=ms, at=at, **kw)  # type: ignore[arg-type]


def test_aggregates_per_tool_and_version(tmp_path: Path) -> None:
    store = UsageStore(tmp_path / "usage.sqlite")
    events = [_event("a", ms=float(ms), at=1000.0 + ms) for ms in range(1, 101)]
    events += [_event("a", outcome="timeout", ms=500.0, at=2000.0, version=2),
               _event("b", outcome="bad_arguments", ms=0.1, at=3000.0)]
    assert store.record_many(events)

    stats = {(s.tool, s.version): s for s in store.stats()}
    a1, a2, b1 = stats[("a", 1)], stats[("a", 2)], stats[("b", 1)]
    assert (a1.calls, a1.errors, a1.p50_ms, a1.p99_ms) == (100, 0, 50.0, 99.0)
    assert (a1.first_at, a1.last_at) == (1001.0, 1100.0)
    assert (a2.calls, a2.errors, a2.error_rate) == (1, 1, 1.0)
    assert b1.error_rate == 1.0
    assert [s.tool for s in store.stats("b")] == ["b"]

    assert store.hits() == {"a": 100}  # failed calls are not hits
    assert store.hits(ok_only=False) == {"a": 101, "b": 1}
    assert store.hits(since=1050.5) == {"a": 50}
    assert store.last_used() == {"a": 2000.0, "b": 3000.0}


def test_events_filter_by_session_newest_first(tmp_path: Path) -> None:
    store = UsageStore(tmp_path / "usage.sqlite")
    store.record(_event("a", at=1.0, session="s1", commit="abc"))
    store.record(_event("b", at=2.0, session="s1"))
    store.record(_event("c", at=3.0, session="s2"))
    got = store.events(session="s1")
    assert [e.tool for e in got] == ["b", "a"]
    assert got[1].commit == "abc" and got[1].ok


def test_reading_a_missing_store_creates_nothing(tmp_path: Path) -> None:
    store = UsageStore(tmp_path / "state" / "usage.sqlite")
    assert store.stats() == [] and store.hits() == {} and store.events() == []
    assert not (tmp_path / "state").exists()


def test_unwritable_store_does_not_fail_the_call(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("a file where the state directory should be")
    assert UsageStore(tmp_path / "file" / "usage.sqlite").record(_event("a")) is False


def test_a_corrupt_store_is_moved_aside_and_started_afresh(tmp_path: Path) -> None:
    path = tmp_path / "usage.sqlite"
    garbage = b"this is not a database" * 100
    path.write_bytes(garbage)
    assert UsageStore(path).record(_event("a")) is True
    kept = list(tmp_path.glob("usage.sqlite.corrupt-*"))
    assert [p.read_bytes() for p in kept] == [garbage]  # the old counts are kept for a person
    assert UsageStore(path).hits() == {"a": 1}


def _writer(path: str, tool: str, n: int) -> None:
    store = UsageStore(Path(path))
    for i in range(n):
        assert store.record(_event(tool, at=float(i)))


def test_concurrent_writers_lose_nothing(tmp_path: Path) -> None:
    path = str(tmp_path / "usage.sqlite")
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(path, f"t{i}", 50)) for i in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    assert UsageStore(Path(path)).hits() == {"t0": 50, "t1": 50, "t2": 50}
