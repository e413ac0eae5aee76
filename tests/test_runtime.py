"""The runtime through its public surfaces: the Python API (`toolforge.runtime.tools`,
`Forge`), `toolforge call` and `toolforge usage`, the daemon's routes (in-process ASGI and
a real daemon over its socket), and the built-in agent's toolbox. What runs is always the
promoted tag's code; every call is recorded."""

from __future__ import annotations

import inspect
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from conftest import PYTHON, git, run_cli
from runtime_library import HOG, copy_library, template_fixture
from toolforge import Forge
from toolforge.daemon.app import create_app
from toolforge.daemon.context import build_context
from toolforge.errors import (
    BadArgumentsError,
    ToolCallFailedError,
    ToolforgeError,
    UnknownToolError,
)
from toolforge.metrics.usage import UsageStore
from toolforge.runtime import open_runtime, tools
from toolforge.service.evolution_service import EvolutionService

pytestmark = pytest.mark.timeout(180)

EDITED = '''def add(a: int, b: int = 2) -> int:
    """Add two integers (edited by hand: subtracts).

    Args:
        a: the first number.
        b: the second number.

    Returns:
        The difference.
    """
    return a - b
'''


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return template_fixture(tmp_path_factory)


@pytest.fixture
def lib(template: Path, tmp_path: Path) -> Path:
    return copy_library(template, tmp_path)


def usage_events(lib: Path) -> list:
    return UsageStore.for_library(lib).events()


def test_the_promoted_tag_runs_not_the_hand_edited_file(lib: Path) -> None:
    exported = run_cli("export", "-L", lib).json
    (lib / "tools/add/tool.py").write_text(EDITED)
    out = run_cli("call", "add", "-a", "a=40", "--json", "-L", lib)
    assert out.exit_code == 0, out.stderr
    result = out.json
    assert result["ok"] and result["value"] == 42  # the tag's a + b, not the edit's a - b
    assert result["version"] == 1
    assert result["commit"] == git(lib, "rev-parse", "tool/add/v1^{commit}").strip()
    assert any("not promoted" in w and "tool/add/v1" in w for w in result["warnings"])
    assert run_cli("export", "-L", lib).json == exported  # agents are shown the tag too
    assert run_cli("show", "add", "-L", lib, "--json").json["hand_edits"]

    # Committed by hand, outside toolforge: still the tag's code, and said so.
    git(lib, "commit", "-qam", "hand edit")
    with open_runtime(lib) as runtime:
        committed = runtime.call("add", {"a": 40})
        assert committed.value == 42
        assert any("outside toolforge" in w for w in committed.warnings)
        assert not any("not promoted" in w for w in committed.warnings)


def test_python_functions_have_real_signatures(lib: Path) -> None:
    fns = {fn.__name__: fn for fn in tools(lib, session="py-1")}
    assert sorted(fns) == ["add", "trap", "word_stats"]
    add = fns["add"]
    sig = inspect.signature(add)
    assert str(sig) == "(a: int, b: int = 2) -> int"
    assert add.__annotations__ == {"a": int, "b": int, "return": int}
    assert add.__doc__.startswith("Add two integers.")
    assert "Args:\n    a: the first number." in add.__doc__
    assert add.json_schema["required"] == ["a"]  # type: ignore[attr-defined]
    assert fns["word_stats"].__annotations__["return"] == dict[str, int]
    assert add(1) == 3 and add(1, 5) == 6 and add(a=2, b=2) == 4

    with pytest.raises(BadArgumentsError, match="'a'"):
        add("one")
    with pytest.raises(BadArgumentsError, match="several values"):
        add(1, a=1)
    with pytest.raises(ToolCallFailedError) as failed:
        fns["trap"](HOG)
    assert failed.value.kind == "memory"
    assert failed.value.result.error.kind == "memory"  # type: ignore[attr-defined]
    events = usage_events(lib)
    assert {e.caller for e in events} == {"python"} and {e.session for e in events} == {"py-1"}
    assert sorted(e.outcome for e in events) == ["bad_arguments", "memory", "ok", "ok", "ok"]


def test_forge_call_and_tools(lib: Path) -> None:
    with Forge(agent_fn=lambda task, fns: str(fns[0](1)), library=lib, auto_evolve=False,
               session="forge-1") as forge:
        assert forge.call("add", a=1, b=1) == 2
        with pytest.raises(UnknownToolError) as unknown:
            forge.call("nope")
        assert isinstance(unknown.value, ToolforgeError) and not isinstance(unknown.value,
                                                                             KeyError)
        with pytest.raises(UnknownToolError, match="candidate"):
            forge.call("shout", text="x")  # validated but not promoted
        assert [f.__name__ for f in forge.find_tools("count the words", k=1)] == ["word_stats"]
        run = forge.run("what is 1 + 2?", expected="3")
        assert run.success and run.tools_used == ["add"]
    callers = {(e.tool, e.caller, e.session) for e in usage_events(lib)}
    assert callers == {("add", "python", "forge-1")}


def test_builtin_agent_calls_are_recorded_as_agent(lib: Path) -> None:
    svc = EvolutionService(lib)
    try:
        toolbox = svc.toolbox()
        record = toolbox.call("add", {"a": 2})
        assert record.ok and record.result == 4
        wrong = toolbox.call("add", {"b": 2})
        assert not wrong.ok and "missing required argument 'a'" in (wrong.error or "")
        assert [t.name for t in toolbox.select("sum of two integers", 1)] == ["add"]
    finally:
        svc.close()
    assert [(e.caller, e.outcome) for e in reversed(usage_events(lib))] == [
        ("agent", "ok"), ("agent", "bad_arguments")]


def test_call_command(lib: Path, tmp_path: Path) -> None:
    out = run_cli("call", "add", "-a", "a=1", "-a", "b=41", "-L", lib)
    assert out.exit_code == 0 and out.stdout.strip() == "42"
    args = tmp_path / "args.json"
    args.write_text('{"text": "one two"}')
    out = run_cli("call", "word_stats", "--args", f"@{args}", "-L", lib)
    assert json.loads(out.stdout) == {"words": 2, "chars": 7}
    out = run_cli("call", "trap", "-a", "word=a b", "-L", lib)  # not JSON: taken as text
    assert out.stdout.strip() == "b a"

    bad = run_cli("call", "add", "-a", "a=x", "-L", lib)
    assert bad.exit_code == 1 and "'a'" in bad.stderr and "add(a: int" in bad.stderr
    unknown = run_cli("call", "addd", "-a", "a=1", "-L", lib, "--json")
    assert unknown.exit_code == 1
    assert unknown.json["error"] == "unknown_tool" and "did you mean add" in \
        unknown.json["hint"]
    failed = run_cli("call", "trap", "-a", f"word={HOG}", "-L", lib, "--json")
    assert failed.exit_code == 1
    assert failed.envelope["ok"] is False and failed.envelope["error"]["kind"] == "memory"
    assert failed.envelope["result"]["error"]["kind"] == "memory"  # the call's own record
    failed_text = run_cli("call", "trap", "-a", f"word={HOG}", "-L", lib)
    assert failed_text.exit_code == 1 and "out of memory" in failed_text.stderr
    assert run_cli("call", "add", "--args", "[1]", "-L", lib).exit_code == 2
    assert run_cli("call", "add", "--args", "{nope", "-L", lib).exit_code == 2
    assert run_cli("call", "add", "-a", "novalue", "-L", lib).exit_code == 2

    report = run_cli("usage", "--json", "-L", lib).json
    rows = {(r["tool"], r["version"]): r for r in report["tools"]}
    assert rows[("add", 1)]["calls"] == 2 and rows[("add", 1)]["errors"] == 1
    assert rows[("add", 1)]["callers"] == {"cli": 2}
    assert rows[("trap", 1)]["outcomes"] == {"ok": 1, "memory": 2}
    assert rows[("addd", None)]["outcomes"] == {"unknown_tool": 1}
    one = run_cli("usage", "add", "--json", "-L", lib).json
    assert [r["tool"] for r in one["tools"]] == ["add"]
    assert run_cli("usage", "--since", "2999-01-01", "--json", "-L", lib).json["tools"] == []
    assert len(run_cli("usage", "--since", "1h", "--json", "-L", lib).json["tools"]) == 4
    assert run_cli("usage", "--since", "yesterday-ish", "-L", lib).exit_code == 2
    table = run_cli("usage", "-L", lib)
    assert table.exit_code == 0 and "word_stats v1" in table.stdout
    assert "1 (50%)" in table.stdout and "addd (unknown)" in table.stdout


async def test_daemon_routes(lib: Path) -> None:
    ctx = build_context(lib, watch=False, concurrency=1)
    app = create_app(ctx)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://toolforge") as c:
            ok = await c.post("/v1/tools/add/call", json={"arguments": {"a": 5}},
                              headers={"X-Toolforge-Session": "curl-1"})
            assert ok.status_code == 200 and ok.json()["value"] == 7
            assert ok.json()["caller"] == "daemon" and ok.json()["session"] == "curl-1"
            failed = await c.post("/v1/tools/trap/call", json={"arguments": {"word": HOG}})
            assert failed.status_code == 200
            assert failed.json()["ok"] is False and failed.json()["error"]["kind"] == "memory"
            bad = await c.post("/v1/tools/add/call", json={"arguments": {"a": []}})
            assert bad.status_code == 422 and bad.json()["error"] == "bad_arguments"
            unknown = await c.post("/v1/tools/nope/call", json={})
            assert unknown.status_code == 404 and unknown.json()["error"] == "unknown_tool"
            malformed = await c.post("/v1/tools/add/call", json={"argumentz": {}})
            assert malformed.status_code == 422
            usage = (await c.get("/v1/usage")).json()
            outcomes = {(r["tool"], r["version"]): r["outcomes"] for r in usage["tools"]}
            assert outcomes[("add", 1)] == {"ok": 1, "bad_arguments": 1}
            assert outcomes[("trap", 1)] == {"memory": 1}
            assert (await c.get("/v1/usage", params={"tool": "add"})).json()["tools"][0][
                "callers"] == {"daemon": 2}
            strict = (await c.get("/v1/export", params={"strict": "true"})).json()
            assert all(t["function"]["strict"] is True for t in strict
                       if t["function"]["name"] != "word_stats")
        assert ctx._pool is not None  # one daemon-owned pool behind the runtime
    assert ctx._runtime is None  # closed with the daemon


@pytest.fixture
def daemon_mode(monkeypatch: pytest.MonkeyPatch, lib: Path) -> Iterator[None]:
    monkeypatch.delenv("TOOLFORGE_NO_DAEMON", raising=False)
    yield
    subprocess.run([PYTHON, "-m", "toolforge", "daemon", "stop", "-L", str(lib)],
                   capture_output=True, timeout=60, env=dict(os.environ))


def test_call_through_a_real_daemon(lib: Path, daemon_mode: None) -> None:
    env = dict(os.environ)
    cmd = [PYTHON, "-m", "toolforge", "call", "add", "-a", "a=20", "-a", "b=22", "-L", str(lib)]
    first = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == "42"
    unknown = subprocess.run([*cmd[:4], "nope", "--json", "-L", str(lib)],
                             capture_output=True, text=True, timeout=60, env=env)
    assert unknown.returncode == 1
    assert json.loads(unknown.stdout)["error"]["kind"] == "unknown_tool"
    usage = subprocess.run([PYTHON, "-m", "toolforge", "usage", "--json", "-L", str(lib)],
                           capture_output=True, text=True, timeout=60, env=env)
    rows = json.loads(usage.stdout)["result"]["tools"]
    assert [(r["tool"], r["callers"]) for r in rows] == [("add", {"cli": 1}),
                                                         ("nope", {"cli": 1})]


def test_usage_table_cuts_names_nobody_has(lib: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Any client can call a junk name (recorded up to 200 characters, so typos show);
    the table cuts it past the longest real name instead of stretching every row."""
    with open_runtime(lib, caller="mcp") as runtime:
        assert runtime.call("z" * 300).outcome == "unknown_tool"
        assert runtime.call("add", {"a": 1}).ok
    monkeypatch.setenv("COLUMNS", "400")
    table = run_cli("usage", "-L", lib)
    assert table.exit_code == 0
    lines = table.stdout.splitlines()
    junk = next(line for line in lines if line.startswith("zzz"))
    assert "z" * 80 not in junk and "…" in junk
    assert all(len(line.rstrip()) < 200 for line in lines), lines
    assert any(line.startswith("add v1") for line in lines)
