"""The curator: tools unused for D days are marked stale, retired (archived, never deleted)
after D2; pinned tools and tools other tools or task files name are exempt; a curator that
sees no usage does nothing; `curate --dry-run` shows the plan; the daemon runs it daily."""

from __future__ import annotations

import asyncio
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import git, make_tests, make_tool, run_cli, write_tool_dir
from deploy_helpers import write_config
from toolforge.daemon.app import create_app
from toolforge.daemon.context import build_context
from toolforge.evolve.curator import curate, plan_curation
from toolforge.library.store import TOOLS_DIR, Library, ToolFiles
from toolforge.metrics.usage import CallEvent, UsageStore

NOW = datetime.now(UTC)


def _promote(lib: Path, tmp: Path, name: str, tests: str | None = None) -> None:
    src = write_tool_dir(tmp / f"src-{name}", name, make_tool(name),
                         tests or make_tests(name))
    assert run_cli("add", src, "-L", lib).exit_code == 0
    assert run_cli("promote", name, "-L", lib).exit_code == 0


def _used(lib: Path, tool: str, days_from_now: float) -> None:
    at = (NOW + timedelta(days=days_from_now)).timestamp()
    UsageStore.for_library(lib).record(CallEvent(tool=tool, version=1, caller="cli",
                                                 outcome="ok", duration_ms=1.0, at=at))


def _meta(lib: Path, tool: str) -> dict[str, Any]:
    return tomllib.loads((lib / TOOLS_DIR / tool / "tool.toml").read_text())


def test_unused_tools_go_stale_then_retire_and_the_exempt_stay(example_library: Path,
                                                               tmp_path: Path) -> None:
    lib = example_library
    # shout's tests name whisper; a committed task file names yell; shout is pinned
    _promote(lib, tmp_path, "whisper")
    _promote(lib, tmp_path, "shout", make_tests("shout") + "\n# compare with whisper\n")
    _promote(lib, tmp_path, "yell")
    (lib / "tasks").mkdir()
    (lib / "tasks/regression.jsonl").write_text('{"task": "use yell on it", "expected": 1}\n')
    git(lib, "add", "tasks")
    git(lib, "commit", "-qm", "regression tasks")

    def pin(_: str, files: ToolFiles) -> bool:
        assert files.meta.model_extra is not None
        files.meta.model_extra["pinned"] = True
        return True

    with_lib = Library.open(lib)
    try:
        with_lib.edit_meta([("shout", TOOLS_DIR)], pin, action="pin", subject="pin shout")
    finally:
        with_lib.close()
    _used(lib, "sha256_hex", 99)  # in use
    _used(lib, "convert_units", 50)  # 50 days idle at +100: stale
    # iso8601_duration_seconds: never called since its promotion, 100 days before: retired
    later = NOW + timedelta(days=100)
    plan = plan_curation(lib, now=later)
    assert [i.tool for i in plan.stale] == ["convert_units"]
    assert [i.tool for i in plan.retire] == ["iso8601_duration_seconds"]
    assert "never used" in plan.retire[0].reason
    assert plan.exempt == {"shout": "pinned", "whisper": "referenced by the tests of shout",
                           "yell": "referenced by the task file tasks/regression.jsonl"}
    head = git(lib, "rev-parse", "HEAD").strip()
    done = curate(lib, dry_run=False, now=later)
    assert git(lib, "rev-list", "--count", f"{head}..HEAD").strip() == "1"  # one commit
    assert git(lib, "log", "-1", "--format=%s").strip() == "curate: 1 stale, 1 retired"
    assert done.commit == git(lib, "rev-parse", "HEAD").strip()
    retired = _meta(lib, "iso8601_duration_seconds")
    assert retired["status"] == "retired" and "curator" in retired["retired_by"]
    assert (lib / "tools/iso8601_duration_seconds/tool.py").is_file()  # archived, not gone
    assert "stale_since" in _meta(lib, "convert_units")
    assert _meta(lib, "convert_units")["status"] == "active"  # still callable
    # used again: the mark goes
    _used(lib, "convert_units", 101)
    again = curate(lib, dry_run=False, now=NOW + timedelta(days=102))
    assert [i.tool for i in again.fresh] == ["convert_units"] and not again.retire
    assert "stale_since" not in _meta(lib, "convert_units")
    # a retired tool comes back with rollback, as any retired tool does
    assert run_cli("rollback", "iso8601_duration_seconds", "-L", lib).exit_code == 0
    assert _meta(lib, "iso8601_duration_seconds")["status"] == "active"


def test_a_curator_that_sees_no_usage_changes_nothing(example_library: Path) -> None:
    head = git(example_library, "rev-parse", "HEAD")
    plan = run_cli("curate", "-L", example_library, "--json")
    assert plan.exit_code == 0, plan.stdout
    assert "no usage records" in plan.json["blind"]
    assert plan.json["stale"] == [] and plan.json["retire"] == [] and plan.json["commit"] is None
    assert git(example_library, "rev-parse", "HEAD") == head
    _used(example_library, "sha256_hex", 0)
    dry = run_cli("curate", "--dry-run", "-L", example_library)
    assert dry.exit_code == 0 and "every active tool is in use" in dry.stdout


def test_bad_curator_settings_are_a_clear_error(example_library: Path) -> None:
    toml = example_library / "toolforge.toml"
    toml.write_text(toml.read_text() + "\n[curator]\nstale_after_days = 90\n"
                                       "retire_after_days = 30\n")
    result = run_cli("curate", "--dry-run", "-L", example_library, "--json")
    assert result.exit_code == 1 and result.json["error"] == "config"
    assert "retire_after_days must be at least stale_after_days" in result.json["message"]


async def test_the_daemon_curates_daily_when_asked(example_library: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOOLFORGE_CONFIG", str(write_config(
        tmp_path / "config.toml", "[evolution]\npoll_s = 0.2\ncurate_daily = true\n")))
    ctx = build_context(example_library, watch=False, concurrency=1)
    app = create_app(ctx)
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://toolforge") as client:
        jobs: list[dict[str, Any]] = []

        def curated() -> bool:
            return any(j["kind"] == "curate" and j["state"] == "succeeded" for j in jobs)

        for _ in range(2400):
            jobs = (await client.get("/v1/jobs")).json()["jobs"]
            if curated():
                break
            await asyncio.sleep(0.1)
        assert curated(), jobs
        overview = (await client.get("/v1/evolution")).json()
        assert overview["worker"]["last_curation"] is not None
        # once a day: the next look does not start another one
        count = sum(j["kind"] == "curate" for j in jobs)
        await asyncio.sleep(1.0)  # the worker looks a few more times meanwhile
        jobs = (await client.get("/v1/jobs")).json()["jobs"]
        assert sum(j["kind"] == "curate" for j in jobs) == count
