"""Framework overhead of one evolution cycle, model time excluded (DESIGN.md §7: < 1 s).

    .venv/bin/python bench/evolve.py [--runs N]

Runs the demo's cycle (3 gaps: one refined, one passing at once, one refused statically)
against the scripted model, whose replies take ~1 ms, and reports the cycle's wall time,
the time inside model calls, and the rest: gap bookkeeping, static checks, sandboxed tests,
property attacks, adversarial runs and git commits.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from toolforge.demo.run import demo_files, prepare_library
from toolforge.evolve.tasks import load_tasks
from toolforge.service.evolution_service import EvolutionService

BUDGET_MS = 1000.0


def one_cycle() -> tuple[float, float, int]:
    from toolforge.demo.metrics_api import MetricsAPI
    from toolforge.testing.scripted_model import ScriptedModelServer

    with tempfile.TemporaryDirectory(prefix="tf-bench-evolve-") as tmp:
        library = Path(tmp) / "lib"
        prepare_library(library)
        files = demo_files()
        with MetricsAPI() as api, ScriptedModelServer(files / "script.json") as model:
            tasks_file = Path(tmp) / "tasks.jsonl"
            tasks_file.write_text((files / "tasks.jsonl").read_text().replace(
                "{metrics_url}", api.url))
            evo = EvolutionService(library, llm_settings=model.llm_settings(max_retries=0))
            try:
                evo.run_tasks(load_tasks(tasks_file))
                report = evo.evolve()
            finally:
                evo.close()
    return report.duration_ms, report.llm_ms, len(report.outcomes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    total, model, framework = [], [], []
    for _ in range(args.runs):
        duration, llm, gaps = one_cycle()
        total.append(duration)
        model.append(llm)
        framework.append(duration - llm)
    p50 = statistics.median(framework)
    print(f"evolution cycle ({gaps} gaps, scripted model), {args.runs} runs")
    print(f"  wall      p50 {statistics.median(total):7.0f} ms")
    print(f"  model     p50 {statistics.median(model):7.0f} ms")
    print(f"  framework p50 {p50:7.0f} ms  max {max(framework):7.0f} ms   budget "
          f"{BUDGET_MS:.0f} ms  {'ok' if p50 <= BUDGET_MS else 'OVER'}")


if __name__ == "__main__":
    main()
