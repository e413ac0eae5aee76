"""The demo: a fictional company's agent fails, toolforge evolves the tools it lacked, the
agent succeeds, and a rollback shows every change can be undone.

Everything is real except the model: a SCRIPTED OpenAI-compatible server answers from
`script.json` beside this file, through the same client code a real model would use.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from toolforge.errors import ConfigError, ConflictError
from toolforge.evolve.cycle import CycleReport
from toolforge.evolve.tasks import load_tasks
from toolforge.library.settings import SETTINGS_FILE
from toolforge.library.store import STATE_DIR, Change
from toolforge.service.evolution_service import EvolutionService, RunSummary
from toolforge.service.library_service import LibraryService, init_library

DEMO_MARKER = "demo-library"
REAL_MODEL_HINT = (
    "To run the same loop with a real model: export TOOLFORGE_MODEL=openai/gpt-4o-mini "
    "(plus OPENAI_API_KEY), or TOOLFORGE_MODEL=ollama/llama3.1 for a local one, then "
    "`toolforge run TASKS.jsonl --evolve -L LIBRARY`."
)

Say = Callable[[str], None]


class DemoSummary(BaseModel):
    library: str
    model: str = "scripted (openai/scripted at a local server; not a real model)"
    before: RunSummary
    cycle: CycleReport
    after: RunSummary
    rollback_commit: str
    restore_commit: str
    active_tools: list[str] = Field(default_factory=list)


def preflight() -> None:
    """Before any work: the demo needs git and an isolating sandbox (it promotes what it
    evolves), unless the user accepted unisolated validation in their own settings. When
    one is missing, say so with the one command that fixes this machine."""
    import shutil

    from toolforge.config.effective import effective_settings
    from toolforge.doctor.sandbox import isolation_fix, sandbox_facts

    if shutil.which("git") is None:
        raise ConfigError("the demo needs git (every library is a git repository), and git "
                          "is not installed; run this, then the demo again:",
                          hint="sudo apt-get install -y git")
    settings = effective_settings(None)
    facts = sandbox_facts(settings.backend, settings.backend_source)
    if facts.chosen is None or not (facts.isolating or settings.allow_unisolated):
        reason = facts.problem or facts.why
        raise ConfigError(
            "the demo promotes the tools it evolves, which needs a sandbox that isolates "
            f"network and filesystem, and none works here ({reason}); run this, then the "
            "demo again (`toolforge doctor` explains the choice):",
            hint=isolation_fix(facts, settings.user.path))


def demo_files() -> Path:
    return Path(str(resources.files("toolforge.demo")))


def prepare_library(path: Path) -> None:
    """A fresh library at `path`; a previous demo library there is replaced, anything else
    is refused."""
    if path.exists() and any(path.iterdir()):
        if not (path / STATE_DIR / DEMO_MARKER).exists():
            raise ConflictError(
                f"{path} exists and is not a demo library",
                hint="pass --library NEW_PATH, or remove the directory",
            )
        shutil.rmtree(path)
    example = Path(__file__).resolve().parents[3] / "library"
    init_library(path, example if (example / SETTINGS_FILE).is_file() else None)
    (path / STATE_DIR).mkdir(exist_ok=True)
    (path / STATE_DIR / DEMO_MARKER).write_text("created by `toolforge demo`\n")
    svc = LibraryService(path)
    try:
        text = (path / SETTINGS_FILE).read_text()

        def auto() -> None:
            (path / SETTINGS_FILE).write_text(
                text.replace('promotion = "review"', 'promotion = "auto"'))

        svc.library.mutate(Change(action="settings", subject="demo: promote validated "
                                  "candidates automatically", paths=[SETTINGS_FILE],
                                  apply=auto))
    finally:
        svc.close()


def run_demo(path: Path, say: Say, show: Callable[[str, Any], None]) -> DemoSummary:
    """Run the loop; `say` narrates a line, `show(kind, data)` renders a result."""
    from toolforge.demo.metrics_api import MetricsAPI
    from toolforge.testing.scripted_model import ScriptedModelServer

    preflight()
    files = demo_files()
    say("[bold]toolforge demo[/] — Acme Freight (a fictional company) runs an agent on its "
        "ops tasks: counting events in its own AFL1 log format, and reading metrics from "
        "its HTTP API, which answers in its own AFM1 base64 encoding.")
    say("[yellow]The model here is SCRIPTED[/]: a local OpenAI-compatible server answering "
        f"from {files / 'script.json'}, through the same client code a real model uses. "
        + REAL_MODEL_HINT)
    prepare_library(path)
    say(f"library: {path} (a git repository; the example tools are already in it)")

    with MetricsAPI() as api, ScriptedModelServer(files / "script.json") as model:
        tasks_file = Path(tempfile.mkdtemp(prefix="toolforge-demo-")) / "tasks.jsonl"
        tasks_file.write_text((files / "tasks.jsonl").read_text().replace(
            "{metrics_url}", api.url))
        tasks = load_tasks(tasks_file)
        say(f"metrics API: {api.url} · scripted model: {model.base_url}")
        evo = EvolutionService(path, llm_settings=model.llm_settings(max_retries=0),
                               log=lambda m: say(f"  [dim]·[/] {m}"))
        try:
            say("\n[bold]1. The agent runs the tasks with the tools it has[/]")
            before = evo.run_tasks(tasks)
            show("run", before)
            decision = evo.decision()
            say(f"\n[bold]2. Trigger[/]: {decision.reason}")
            say("\n[bold]3. Evolution cycle[/]: gaps → synthesis → static check → sandboxed "
                "tests → adversarial tests + property attack → refinement → promotion")
            cycle = evo.maybe_evolve() if decision.fire else evo.evolve()
            assert cycle is not None
            show("cycle", cycle)
            say("\n[bold]4. The same tasks again, with the evolved tools[/]")
            after = evo.run_tasks(tasks)
            show("run", after)
        finally:
            evo.close()

    svc = LibraryService(path)
    try:
        say("\n[bold]5. History[/]: every step is a commit")
        show("history", svc.history(limit=12))
        before_cycle = next(e.commit for e in svc.history(limit=50).entries
                            if e.subject.startswith("demo: promote"))
        say(f"\n[bold]6. Rollback[/]: restore the library as it was before evolution "
            f"({before_cycle[:12]}), as a new commit")
        rolled = svc.rollback(library_rev=before_cycle)
        show("action", rolled)
        active = [t.tool for t in svc.list_tools("active").tools]
        say(f"   active tools now: {', '.join(active)}")
        say("   …and forward again (rollback is just another commit):")
        restored = svc.rollback(library_rev="HEAD~1")
        show("action", restored)
        active = [t.tool for t in svc.list_tools("active").tools]
        say(f"   active tools: {', '.join(active)}")
    finally:
        svc.close()
    say(f"\nDone. Try: toolforge list -L {path} · toolforge show count_log_events -L {path} · "
        f"toolforge history -L {path} · git -C {path} log --stat")
    say(REAL_MODEL_HINT)
    return DemoSummary(library=str(path), before=before, cycle=cycle, after=after,
                       rollback_commit=rolled.commit, restore_commit=restored.commit,
                       active_tools=active)
