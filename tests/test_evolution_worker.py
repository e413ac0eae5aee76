"""The daemon is the evolution worker: runs reported over the API start background cycles
(one at a time), visible in `toolforge cycles`, on the event stream and as jobs; budgets
stop a cycle and say why; a model outage pauses evolution without burning retries."""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import EXAMPLE_LIBRARY, git, run_cli
from deploy_helpers import FAST, evolve_script, failed_run, wait_for, write_config
from toolforge.daemon.app import create_app
from toolforge.daemon.client import DaemonClient
from toolforge.daemon.context import build_context
from toolforge.deploy.status import read_status
from toolforge.testing.scripted_model import ScriptedModelServer

LIBRARY_SETTINGS = """
[evolve]
max_cycles_per_hour = 50
"""


def _library(tmp: Path) -> Path:
    lib = tmp / "lib"
    assert run_cli("init", lib, "--from", EXAMPLE_LIBRARY).exit_code == 0
    toml = lib / "toolforge.toml"
    text = toml.read_text().replace('promotion = "review"', 'promotion = "auto"')
    text = text.replace("failure_threshold = 5", "failure_threshold = 3")
    toml.write_text(text + LIBRARY_SETTINGS)
    git(lib, "commit", "-qam", "settings for the test")
    return lib


@pytest.fixture
def model(monkeypatch: pytest.MonkeyPatch):
    servers: list[ScriptedModelServer] = []

    def start(script: dict[str, Any]) -> ScriptedModelServer:
        server = ScriptedModelServer(script)
        url = server.start()
        servers.append(server)
        monkeypatch.setenv("TOOLFORGE_MODEL", "openai/scripted")
        monkeypatch.setenv("TOOLFORGE_API_BASE", url)
        monkeypatch.setenv("TOOLFORGE_API_KEY", "scripted")
        return server

    yield start
    for server in servers:
        server.stop()


def _runs(tool: str, n: int, start: int = 0) -> str:
    return "\n".join(json.dumps(failed_run(tool, i)) for i in range(start, start + n))


def _cycles(lib: Path) -> dict[str, Any]:
    result = run_cli("cycles", "-L", lib, "--json")
    assert result.exit_code == 0, result.stdout
    return result.json


def test_the_daemon_evolves_from_reported_runs_and_a_budget_stops_the_next_cycle(
        tmp_path: Path, model, monkeypatch: pytest.MonkeyPatch) -> None:
    lib = _library(tmp_path)
    config = write_config(tmp_path / "config.toml", "[evolution]\npoll_s = 0.3\n"
                                                    "tokens_per_hour = 1\n" + FAST)
    monkeypatch.setenv("TOOLFORGE_CONFIG", str(config))
    model(evolve_script())
    client = DaemonClient(lib)
    events: list[dict[str, Any]] = []
    try:
        client.ensure()  # a real daemon process on a real socket

        def follow() -> None:
            for event in client.events(["cycle_started", "cycle_finished",
                                        "evolution_status"]):
                events.append(event)

        threading.Thread(target=follow, daemon=True).start()
        wait_for("the event stream", lambda: events)
        with httpx.Client(transport=httpx.HTTPTransport(uds=str(client.paths.socket)),
                          base_url="http://toolforge") as http:
            posted = http.post("/v1/trajectories", content=_runs("tool_alpha", 3))
            assert posted.status_code == 201, posted.text
            done = wait_for("a finished cycle", lambda: [
                c for c in _cycles(lib)["cycles"] if c["status"] != "running"])
            cycle = done[0]
            assert cycle["status"] == "done", cycle
            assert cycle["reason"].startswith("failure_threshold: 3 unhandled failures")
            assert cycle["gaps"] == ["tool_alpha"]
            assert cycle["outcomes"] == {"promoted": 1}
            assert cycle["failures"] == 3 and cycle["model_calls"] >= 3
            assert cycle["tokens"] > 0
            assert (lib / "tools/tool_alpha/tool.py").is_file()
            # the cycle record is closed inside the job; the job itself ends a moment later
            wait_for("the evolve job to succeed", lambda: any(
                j.kind == "evolve" and j.state == "succeeded" for j in client.jobs()))
            # three more failures, reported from the command line: the daemon looks at once;
            # a cycle is due, but would pass the token budget
            runs = tmp_path / "more.jsonl"
            runs.write_text(_runs("tool_beta", 3))
            monkeypatch.delenv("TOOLFORGE_NO_DAEMON", raising=False)
            assert run_cli("report", runs, "-L", lib).exit_code == 0
            monkeypatch.setenv("TOOLFORGE_NO_DAEMON", "1")
            status = wait_for("the budget to stop the cycle", lambda: (
                s := _cycles(lib)["worker"]) and s["state"] == "budget" and s)
        assert "tokens per hour" in status["detail"] and "budget of 1" in status["detail"]
        assert len(_cycles(lib)["cycles"]) == 1
        kinds = [e["type"] for e in events]
        assert "cycle_started" in kinds and "cycle_finished" in kinds
        finished = next(e for e in events if e["type"] == "cycle_finished")
        assert finished["outcomes"] == {"promoted": 1} and finished["tools"] == ["tool_alpha"]
        assert any(e["type"] == "evolution_status" and e["state"] == "budget"
                   for e in wait_for("the budget event", lambda: [
                       e for e in events if e.get("state") == "budget"]))
        # a manual cycle says the same, and can be told to go ahead anyway
        manual = run_cli("evolve", "-L", lib, "--json")
        assert manual.exit_code == 1 and manual.json["error"] == "budget"
        assert "--ignore-budget" in manual.json["hint"]
        text = run_cli("cycles", "-L", lib)
        assert "budget" in text.stdout and "tool_alpha" not in text.stdout  # rows, not gaps
        detail = run_cli("cycles", cycle["id"][:8], "-L", lib)
        assert "tool_alpha" in detail.stdout and "promoted" in detail.stdout
    finally:
        client.shutdown()
        client.close()


@pytest.mark.parametrize("limit, which", [
    ("tokens_per_hour = 1", "tokens per hour"), ("tokens_per_day = 1", "tokens per day"),
    ("usd_per_hour = 0.00001", "USD per hour"), ("usd_per_day = 0.00001", "USD per day"),
    ("max_cycles_per_hour = 1", "cycles per hour")])
def test_each_budget_stops_the_next_cycle_and_says_which(
        tmp_path: Path, model, monkeypatch: pytest.MonkeyPatch, limit: str, which: str
) -> None:
    lib = _library(tmp_path)
    config = tmp_path / "config.toml"
    monkeypatch.setenv("TOOLFORGE_CONFIG", str(write_config(config, FAST)))
    model(evolve_script())
    monkeypatch.setenv("TOOLFORGE_MODEL", "openai/gpt-4o-mini")  # in litellm's price table
    runs = tmp_path / "runs.jsonl"
    runs.write_text(_runs("tool_alpha", 3))
    assert run_cli("report", runs, "-L", lib).exit_code == 0
    first = run_cli("evolve", "-L", lib, "--json")
    assert first.exit_code == 0, first.stdout
    assert first.json["usage"]["cost_usd"] > 0 and first.json["usage"]["total_tokens"] > 0
    runs.write_text(_runs("tool_beta", 3, start=3))
    assert run_cli("report", runs, "-L", lib).exit_code == 0
    write_config(config, f"[evolution]\n{limit}\n" + FAST)
    stopped = run_cli("evolve", "-L", lib, "--json")
    assert stopped.exit_code == 1 and stopped.json["error"] == "budget", stopped.stdout
    assert which in stopped.json["message"], stopped.json["message"]
    assert str(config) in stopped.json["hint"]
    overview = _cycles(lib)
    assert len(overview["cycles"]) == 1  # it did not start
    assert which in overview["budget"]["reason"]
    assert not (lib / "candidates/tool_beta").exists()


@pytest.fixture
async def daemon(tmp_path: Path) -> AsyncIterator[Any]:
    holder: dict[str, Any] = {}

    async def start(lib: Path) -> tuple[httpx.AsyncClient, Any]:
        ctx = build_context(lib, watch=False, concurrency=2)
        app = create_app(ctx)
        holder["cm"] = app.router.lifespan_context(app)
        await holder["cm"].__aenter__()
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                   base_url="http://toolforge")
        holder["client"] = client
        return client, ctx

    yield start
    if "client" in holder:
        await holder["client"].aclose()
        await holder["cm"].__aexit__(None, None, None)


async def test_a_model_outage_pauses_evolution_and_one_probe_resumes_it(
        tmp_path: Path, model, daemon, monkeypatch: pytest.MonkeyPatch) -> None:
    lib = _library(tmp_path)
    config = write_config(tmp_path / "config.toml",
                          "[evolution]\npoll_s = 0.2\npause_s = 0.5\n" + FAST
                          + "[llm]\nmax_retries = 1\nbackoff_initial_s = 0.01\n")
    monkeypatch.setenv("TOOLFORGE_CONFIG", str(config))
    script = evolve_script()
    down = {"name": "down", "match": {}, "times": 2,  # both attempts of the first call
            "respond": {"error": {"status": 503, "message": "overloaded"}}}
    for rule, name in zip(script["rules"], ("gaps", "tool", "tests", "attack"), strict=True):
        rule["name"] = name
    script["rules"].insert(0, down)
    server = model(script)
    client, ctx = await daemon(lib)
    assert (await client.post("/v1/trajectories",
                              content=_runs("tool_gamma", 3))).status_code == 201
    done = wait_for("a promoted tool after the outage", lambda: [
        c for c in _cycles(lib)["cycles"] if c["outcomes"].get("promoted")])
    cycles = _cycles(lib)["cycles"]
    assert len(cycles) == 2
    failed = cycles[-1]
    assert failed["status"] == "failed" and "model unavailable" in failed["error"]
    assert done[0]["failures"] == 3  # the failures came back to the trigger, not burnt
    status = read_status(lib)
    assert status is not None and status.outages == 1 and "overloaded" in status.last_outage
    # The model was asked: the cycle's one call (2 attempts), then during the pause
    # nothing, then ONE probe, then the next cycle's calls.
    rules = [r["matched_rule"] for r in server.chat_requests()]
    assert rules[:3] == ["down", "down", "fallback"], rules
    assert rules[3] == "gaps" and rules.count("fallback") == 1
    overview = (await client.get("/v1/evolution")).json()
    assert overview["worker"]["state"] == "idle"
    assert overview["cycles"][0]["tools"][0]["tool"] == "tool_gamma"
    assert ctx.worker is not None


async def test_the_review_tui_shows_a_background_cycle_and_its_new_tool(
        tmp_path: Path, model, monkeypatch: pytest.MonkeyPatch) -> None:
    from toolforge.daemon.client import connect
    from toolforge.daemon.lifecycle import stop as stop_daemon
    from toolforge.tui.app import ReviewApp
    from toolforge.tui.backend import DaemonBackend

    lib = _library(tmp_path)
    config = write_config(tmp_path / "config.toml", "[evolution]\npoll_s = 0.3\n" + FAST)
    monkeypatch.setenv("TOOLFORGE_CONFIG", str(config))
    monkeypatch.delenv("TOOLFORGE_NO_DAEMON", raising=False)
    model(evolve_script(delay_s=0.5))
    backend = DaemonBackend(connect(lib))
    messages: list[str] = []
    try:
        async with ReviewApp(backend).run_test(size=(120, 40)) as pilot:
            app = pilot.app
            shown = app.status_bar.set_message

            def keep(text: str, severity: str = "information") -> None:
                messages.append(text)  # every line the status bar was given
                shown(text, severity)

            app.status_bar.set_message = keep  # type: ignore[method-assign]

            async def until(what: str, check: Any) -> None:
                for _ in range(int(240 / 0.1)):
                    if check():
                        return
                    await pilot.pause(0.1)
                pytest.fail(f"gave up waiting for {what}; saw {messages}")

            await until("the event stream", lambda: app.status_bar.connection == "live")
            async with httpx.AsyncClient(
                    transport=httpx.AsyncHTTPTransport(uds=str(backend.client.paths.socket)),
                    base_url="http://toolforge") as http:
                posted = await http.post("/v1/trajectories", content=_runs("tool_delta", 3))
                assert posted.status_code == 201
            await until("the new tool in the list", lambda: any(
                t.tool == "tool_delta" and t.status == "active" for t in app.tool_list.tools))
            await until("the cycle's end", lambda: any("finished" in m for m in messages))
    finally:
        backend.close()
        stop_daemon(lib)
    assert any(m.startswith("evolution: cycle") and "started" in m for m in messages), messages
    assert any("tool_delta" in m for m in messages), messages  # the cycle's own progress
    assert any("finished: 1 promoted" in m for m in messages), messages
