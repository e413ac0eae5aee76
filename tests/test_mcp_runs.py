"""MCP sessions as runs: `toolforge mcp --report-runs` offers report_run, and a session's
tool calls become the steps of the trajectory it reports (with the versions they ran and
the library commit), recorded like any other run."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from conftest import run_cli
from runtime_library import copy_library, template_fixture
from test_mcp_server import stdio_session, text_of

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return template_fixture(tmp_path_factory)


async def test_a_session_reports_its_run_with_its_calls(template: Path, tmp_path: Path
                                                        ) -> None:
    lib = copy_library(template, tmp_path)
    head = run_cli("history", "-n", "1", "-L", lib, "--json").json["entries"][0]["commit"]
    async with stdio_session(lib, "--report-runs") as (session, _):
        names = [t.name for t in (await session.list_tools()).tools]
        assert "report_run" in names and "add" in names
        with anyio.fail_after(60):
            assert text_of(await session.call_tool("add", {"a": 40})) == "42"
            bad = await session.call_tool("report_run", {"task": "x", "reward": 7})
            assert bad.is_error and "bad_arguments" in text_of(bad)
            done = await session.call_tool("report_run", {
                "task": "What is 40 + 2?", "answer": "42", "expected": 42})
        assert not done.is_error, text_of(done)
        run_id = done.structured_content["recorded"]
        assert done.structured_content["success"] is True
        with anyio.fail_after(60):  # the next run starts with no steps
            again = await session.call_tool("report_run", {"task": "nothing",
                                                           "success": False})
        assert again.structured_content["steps"] == 0
    shown = run_cli("trajectories", "show", run_id, "-L", lib, "--json").json
    assert shown["source"] == "mcp" and shown["reward"] == 1.0
    assert [s["tool"] for s in shown["steps"]] == ["add"]
    assert shown["steps"][0]["arguments"] == {"a": 40} and shown["steps"][0]["result"] == 42
    assert shown["metadata"]["tool_versions"] == {"add": 1}
    assert shown["metadata"]["library_commit"] == head
    assert "add" in shown["tools_offered"]
    failed = run_cli("trajectories", "list", "--failed", "-L", lib, "--json").json
    assert [t["task"] for t in failed["trajectories"]] == ["nothing"]


async def test_without_the_flag_there_is_no_report_tool(template: Path, tmp_path: Path
                                                       ) -> None:
    lib = copy_library(template, tmp_path)
    async with stdio_session(lib) as (session, _):
        assert "report_run" not in [t.name for t in (await session.list_tools()).tools]
