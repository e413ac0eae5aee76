"""The trajectory log on a real redis-server: agents append (the CLI's `report --queue`),
workers read as a group, hold entries with leases, take over a dead worker's entries, and
acknowledge only what they hold; a worker stores what it reads and sets garbage aside."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import PYTHON, python_env, run_cli
from deploy_helpers import (
    failed_run,
    free_port,
    good_run,
    redis_server,
    wait_for,
    write_config,
)
from toolforge.daemon.app import create_app
from toolforge.daemon.context import build_context
from toolforge.deploy.settings import QueueSettings
from toolforge.deploy.status import read_status
from toolforge.evolve.trajectories import TrajectoryStore
from toolforge.library.remote import LibraryRemote
from toolforge.library.store import Library
from toolforge.queue import stream_name
from toolforge.queue.redis_streams import RedisStreamLog


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    with redis_server(tmp_path) as url:
        yield url


def _log(url: str, stream: str = "toolforge:{t}:trajectories",
         group: str = "workers") -> RedisStreamLog:
    return RedisStreamLog(url, stream, group, retention_s=3600)


def test_report_with_a_queue_appends_for_the_workers_and_stores_nothing_here(
        library: Path, redis_url: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    runs = tmp_path / "runs.jsonl"
    runs.write_text("\n".join(json.dumps(r) for r in (good_run(1, "r1"),
                                                       failed_run("tool_x", 2, "r2"))))
    secret = f"redis://:hunter2@127.0.0.1:{free_port()}/0"  # nothing listens there
    bad = run_cli("report", runs, "--queue", secret, "-L", library, "--json")
    assert bad.exit_code == 1 and bad.json["error"] == "queue_unavailable"
    assert "hunter2" not in bad.stdout  # the password never shows
    for secret in (f"redis://127.0.0.1:{free_port()}/0?password=hunter2",  # redis-py reads it
                   "unix:///nowhere/redis.sock?db=0&password=hunter2",
                   "http://:hunter2@127.0.0.1/0"):  # refused, and not shown either
        bad = run_cli("report", runs, "--queue", secret, "-L", library, "--json")
        assert bad.exit_code == 1 and "hunter2" not in bad.stdout, bad.stdout
    config = write_config(tmp_path / "config.toml", '[queue]\nurl = "http://u:hunter2@h/0"\n')
    monkeypatch.setenv("TOOLFORGE_CONFIG", str(config))
    bad = run_cli("report", runs, "-L", library, "--json")
    assert bad.json["error"] == "config" and "hunter2" not in bad.stdout, bad.stdout
    monkeypatch.delenv("TOOLFORGE_CONFIG")
    done = run_cli("report", runs, "--queue", redis_url, "-L", library, "--json")
    assert done.exit_code == 0, done.stdout
    assert done.json["recorded"] == 2 and "stream toolforge:{" in done.json["queue"]
    assert TrajectoryStore(library / ".toolforge/state.sqlite").count() == 0
    log = RedisStreamLog(redis_url, done.json["queue"].split("stream ", 1)[1], "workers",
                         retention_s=60)
    entries = log.read("w", count=10, block_s=0.1)
    assert [e.data["id"] for e in entries if e.data] == ["r1", "r2"]
    assert entries[1].data is not None and entries[1].data["success"] is False
    # all or nothing: one invalid run and none is queued
    runs.write_text(json.dumps(good_run(3)) + "\n" + json.dumps({"no": "task"}))
    assert run_cli("report", runs, "--queue", redis_url, "-L", library).exit_code == 1
    assert log.read("w", count=10, block_s=0.1) == []


REDIS_PROBE = """
import sys
from pathlib import Path
from toolforge.daemon.context import build_context
from toolforge.deploy.settings import load_deploy_settings
from toolforge.service.trajectory_service import TrajectoryService

lib = Path(sys.argv[1])
svc = TrajectoryService(lib)
svc.report_text(Path(sys.argv[2]).read_text())
svc.close()
ctx = build_context(lib, watch=False, concurrency=1)
ctx.worker.tick(load_deploy_settings())  # the daemon's worker: one look
print("redis" in sys.modules)
"""


def test_the_redis_client_is_imported_only_when_a_queue_is_configured(
        library: Path, redis_url: str, tmp_path: Path) -> None:
    runs = tmp_path / "runs.jsonl"
    runs.write_text(json.dumps(good_run(1)))
    env = {**python_env(), "TOOLFORGE_QUEUE": ""}

    def imported(**extra: str) -> bool:
        done = subprocess.run([PYTHON, "-c", REDIS_PROBE, str(library), str(runs)],
                              capture_output=True, text=True, timeout=120,
                              env={**env, **extra})
        assert done.returncode == 0, done.stderr
        return done.stdout.split()[-1] == "True"

    assert imported() is False  # the local store: nothing changes for one machine
    assert imported(TOOLFORGE_QUEUE=redis_url) is True


def test_a_dead_workers_entries_are_taken_over_and_only_a_holder_acknowledges(
        redis_url: str) -> None:
    log = _log(redis_url)
    ids = log.append([{"task": f"t{i}"} for i in range(4)])
    a = log.read("A", count=2, block_s=0.1)
    b = log.read("B", count=10, block_s=0.1)
    assert [e.id for e in a] == ids[:2] and [e.id for e in b] == ids[2:]
    assert log.ack("B", [a[0].id]) == []  # not B's to acknowledge
    assert log.ack("A", [a[0].id]) == [a[0].id]
    # B keeps renewing its hold; A has stopped (it died): after the idle time only A's
    # remaining entry moves.
    deadline = time.monotonic() + 30
    taken = []
    while not taken and time.monotonic() < deadline:
        log.renew("B")
        time.sleep(0.3)
        taken = log.claim_stale("B", idle_s=1.0, count=10)
    assert [e.id for e in taken] == [a[1].id] and taken[0].deliveries == 2
    assert log.holders(ids) == {ids[0]: "A", ids[1]: "B", ids[2]: "B", ids[3]: "B"}
    assert log.ack("A", [a[1].id]) == []  # A came back too late: it no longer holds it
    assert log.pending("A", count=10) == []
    assert [e.id for e in log.pending("B", count=10)] == ids[1:]
    log.remember_cycle("c1", ids[1:3])
    assert log.finished_cycles(ids) == {}
    log.finish_cycle("c1")
    assert log.finished_cycles(ids) == {ids[1]: "c1", ids[2]: "c1"}
    stats = log.stats()
    assert stats.length == 4 and stats.pending == 3 and stats.consumers == {"B": 3}


@pytest.fixture
async def worker(tmp_path: Path, library: Path, redis_url: str,
                 monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Any]:
    config = write_config(tmp_path / "config.toml", '[queue]\nconsumer = "solo"\n'
                                                    "[evolution]\npoll_s = 0.2\n")
    monkeypatch.setenv("TOOLFORGE_CONFIG", str(config))
    monkeypatch.setenv("TOOLFORGE_QUEUE", redis_url)
    ctx = build_context(library, watch=False, concurrency=1)
    app = create_app(ctx)
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://toolforge") as client:
        yield client, ctx


async def test_a_worker_stores_runs_once_acks_successes_and_sets_garbage_aside(
        library: Path, worker: Any, redis_url: str) -> None:
    client, _ = worker
    # over the daemon's own route the runs go to the queue too
    body = "\n".join(json.dumps(r) for r in (good_run(1, "ok-1"),
                                             failed_run("tool_x", 1, "bad-1")))
    assert (await client.post("/v1/trajectories", content=body)).status_code == 201
    status = wait_for("the worker to take the runs", lambda: (
        s := read_status(library)) and s.queue and s.queue.acked >= 1 and s)
    stream = status.queue.name.split("stream ", 1)[1]
    log = _log(redis_url, stream, group="toolforge-workers")  # the workers' group
    log.append([good_run(2, "ok-1")])  # the same id again: stored once
    log._r.xadd(stream, {"trajectory": "{not json"})  # written past the CLI's checks
    log._r.xadd(stream, {"trajectory": json.dumps({"task": "", "reward": 7})})
    status = wait_for("the garbage to be set aside", lambda: (
        s := read_status(library)) and s.queue and s.queue.rejected == 2 and s)
    store = TrajectoryStore(library / ".toolforge/state.sqlite")
    assert sorted(t.id for t in store.iter(limit=None)) == ["bad-1", "ok-1"]
    assert status.queue.held == 1  # the failure waits for a cycle
    rejected = log._r.xrange(stream.rsplit(":", 1)[0] + ":rejected")
    assert len(rejected) == 2 and "not JSON" in rejected[0][1]["reason"]
    stats = log.stats()
    assert stats.pending == 1 and stats.consumers == {"solo": 1}  # held, not acknowledged


async def test_an_agent_machines_daemon_leaves_the_queue_to_the_workers(
        library: Path, redis_url: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOOLFORGE_CONFIG", str(write_config(
        tmp_path / "agent.toml", "[evolution]\nworker = false\npoll_s = 0.2\n")))
    monkeypatch.setenv("TOOLFORGE_QUEUE", redis_url)
    ctx = build_context(library, watch=False, concurrency=1)
    app = create_app(ctx)
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://toolforge") as client:
        body = json.dumps(failed_run("tool_x", 1, "agent-run"))
        assert (await client.post("/v1/trajectories", content=body)).status_code == 201
        wait_for("the worker's look", lambda: (s := read_status(library)) and
                 s.state == "disabled")
    # the run went to the queue, and stays there for the workers
    assert TrajectoryStore(library / ".toolforge/state.sqlite").count() == 0
    status = read_status(library)
    assert status is not None and status.queue is None
    lib = Library.open(library)
    stream = stream_name(QueueSettings(url=redis_url), LibraryRemote(lib.git).library_id())
    lib.close()
    log = _log(redis_url, stream, group="toolforge-workers")
    assert [e.data["id"] for e in log.read("real-worker", count=10, block_s=0.1)
            if e.data] == ["agent-run"]



async def test_a_worker_that_loses_the_queue_says_queue_down_and_starts_no_cycle(
        library: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """docs/deploy.md: Redis down, for a worker: state `queue_down`, retried every look. It
    holds failures enough for a cycle (and has no model): the state must not flip to what
    the trigger says, and no cycle starts on entries other workers may take over."""
    monkeypatch.setenv("TOOLFORGE_CONFIG", str(write_config(
        tmp_path / "config.toml", "[evolution]\npoll_s = 0.1\n")))
    looks: list[str] = []
    with ExitStack() as redis:
        monkeypatch.setenv("TOOLFORGE_QUEUE", redis.enter_context(redis_server(tmp_path)))
        ctx = build_context(library, watch=False, concurrency=1)
        worker = ctx.worker
        assert worker is not None
        tick = worker.tick

        def look(settings: Any) -> None:  # the real look; then the state it left
            tick(settings)
            looks.append(worker.status.state)

        worker.tick = look  # type: ignore[method-assign]
        app = create_app(ctx)
        async with app.router.lifespan_context(app), httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://toolforge") as client:
            body = "\n".join(json.dumps(failed_run("tool_x", i)) for i in range(6))
            assert (await client.post("/v1/trajectories", content=body)).status_code == 201
            wait_for("the failures held and a cycle due", lambda: (
                s := read_status(library)) and s.queue and s.queue.held == 6
                and s.state == "no_model")
            redis.close()  # the redis-server stops
            wait_for("queue_down", lambda: (s := read_status(library)) and
                     s.state == "queue_down")
            first = len(looks)
            wait_for("five more looks", lambda: len(looks) >= first + 5)
            assert set(looks[first:]) == {"queue_down"}, looks[first:]
            evolution = (await client.get("/v1/evolution")).json()
            assert evolution["worker"]["state"] == "queue_down"
            assert "cannot reach the queue" in evolution["worker"]["detail"]
            jobs = (await client.get("/v1/jobs")).json()["jobs"]
            assert not [j for j in jobs if j["kind"] == "evolve"]
    assert TrajectoryStore(library / ".toolforge/state.sqlite").count() == 6  # kept


async def test_a_queue_set_or_unset_in_the_user_config_applies_without_a_restart(
        library: Path, redis_url: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """docs/deploy.md: `[queue] url` in the user config needs no restart; `toolforge
    cycles` shows the worker's queue line at once, before any entry arrives."""
    monkeypatch.delenv("TOOLFORGE_QUEUE", raising=False)
    config = write_config(tmp_path / "config.toml", "[evolution]\npoll_s = 0.1\n")
    monkeypatch.setenv("TOOLFORGE_CONFIG", str(config))
    ctx = build_context(library, watch=False, concurrency=1)
    app = create_app(ctx)
    async with app.router.lifespan_context(app):
        wait_for("the worker's first look", lambda: (s := read_status(library)) and
                 s.state == "idle")
        write_config(config, f'[queue]\nurl = "{redis_url}"\nconsumer = "c1"\n'
                             "[evolution]\npoll_s = 0.1\n")
        status = wait_for("the queue line", lambda: (s := read_status(library)) and
                          s.queue and s)
        assert status.queue.consumer == "c1" and status.queue.acked == 0
        shown = run_cli("cycles", "-L", library)
        assert "queue redis://" in shown.stdout and "as c1" in shown.stdout, shown.stdout
        write_config(config, "[evolution]\npoll_s = 0.1\n")  # back to the local store
        wait_for("the queue line to go", lambda: (s := read_status(library)) and
                 s.queue is None)
