"""Agents on other machines read a pinned commit of the shared library: they keep serving
it while a worker promotes, pick the new version up after a sync (on demand, or on the
daemon's interval), and every run records the commit it used."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import git, make_tests, make_tool, run_cli, write_tool_dir
from deploy_helpers import clone, shared_library, wait_for, write_config
from toolforge import Forge
from toolforge.daemon.app import create_app
from toolforge.daemon.context import build_context


def _publish(worker: Path, tmp: Path, body: str, tag: str) -> None:
    tests = make_tests("shout").replace("== 'ABC'", ".startswith('ABC')")
    src = write_tool_dir(tmp / f"src-{tag}", "shout", make_tool("shout", body=body), tests)
    assert run_cli("add", src, "-L", worker).exit_code == 0
    promoted = run_cli("promote", "shout", "-L", worker, "--json")
    assert promoted.exit_code == 0, promoted.stdout


def test_an_agent_serves_its_pinned_commit_until_it_syncs(tmp_path: Path) -> None:
    _, remote = shared_library(tmp_path)
    worker = clone(remote, tmp_path / "worker")
    _publish(worker, tmp_path, "return text.upper()", "v1")
    agent = clone(remote, tmp_path / "agent")
    pinned = git(agent, "rev-parse", "HEAD").strip()

    def shout_it(task: str, tools: list) -> str:
        return {t.__name__: t for t in tools}["shout"](text=task)

    def shown(run_id: str) -> dict[str, Any]:
        return run_cli("trajectories", "show", run_id, "-L", agent, "--json").json

    with Forge(agent_fn=shout_it, library=agent, auto_evolve=False) as forge:
        first = forge.run("abc")
        assert first.answer == "ABC"
        assert shown(first.trajectory_id)["metadata"]["library_commit"] == pinned
        _publish(worker, tmp_path, 'return text.upper() + "!!"', "v2")  # a worker promotes
        during = forge.run("abc")
        assert during.answer == "ABC"  # the agent keeps serving its pinned commit
        assert shown(during.trajectory_id)["metadata"]["library_commit"] == pinned
        synced = run_cli("sync", "--read-only", "-L", agent, "--json")
        assert synced.exit_code == 0 and synced.json["pulled"] == 2
        after = forge.run("abc")
        assert after.answer == "ABC!!"  # the new version, after the sync
        meta = shown(after.trajectory_id)["metadata"]
        assert meta["library_commit"] == git(remote, "rev-parse", "main").strip() != pinned
        assert meta["tool_versions"] == {"shout": 2}
    # the agent's clone only followed the remote: nothing of its own to publish
    assert git(agent, "rev-parse", "HEAD") == git(remote, "rev-parse", "main")


async def test_an_agents_daemon_refreshes_its_pin_on_an_interval(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _, remote = shared_library(tmp_path)
    worker = clone(remote, tmp_path / "worker")
    _publish(worker, tmp_path, "return text.upper()", "v1")
    agent = clone(remote, tmp_path / "agent")
    monkeypatch.setenv("TOOLFORGE_CONFIG", str(write_config(
        tmp_path / "config.toml", "[evolution]\npoll_s = 0.2\nworker = false\n"
                                  "[sync]\ninterval_s = 0.5\nread_only = true\n")))
    ctx = build_context(agent, watch=False, concurrency=1)
    app = create_app(ctx)
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://toolforge") as client:

        async def call() -> Any:
            resp = await client.post("/v1/tools/shout/call", json={"arguments": {"text": "a"}})
            assert resp.status_code == 200, resp.text
            return resp.json()

        assert (await call())["value"] == "A"
        _publish(worker, tmp_path, 'return text.upper() + "?"', "v2")
        wait_for("the interval sync", lambda: git(agent, "rev-parse", "HEAD") ==
                 git(remote, "rev-parse", "main"))
        result = await call()
        assert result["value"] == "A?" and result["version"] == 2
        jobs = (await client.get("/v1/jobs")).json()["jobs"]
        assert any(j["kind"] == "sync" and j["state"] == "succeeded" for j in jobs)
        assert not any(j["kind"] == "evolve" for j in jobs)  # worker = false
        status = (await client.get("/v1/evolution")).json()["worker"]
        assert status["state"] == "disabled" and status["last_sync"] is not None
