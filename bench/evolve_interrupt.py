"""How fast ^C stops `toolforge evolve` with a model call in flight (issue 10: within a
second or two), and that the failures come back.

    .venv/bin/python bench/evolve_interrupt.py [--runs N]

Each run: a library with 5 failed runs, a scripted model whose answer to the gap analysis
(or to a gap's tool synthesis) would take 300 s, `toolforge evolve` as a process; SIGINT
once that call is in flight; the time until the process has exited (after giving its
failures back).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from toolforge.testing.scripted_model import ScriptedModelServer  # noqa: E402

BUDGET_S = 2.0
GAP = {"gaps": [{"name": "count_errors", "description": "Count ERROR lines.",
                 "signature": "count_errors(log: str) -> int", "rationale": "r",
                 "evidence": []}]}
PROMPTS = {"gaps": "You analyse failed agent runs", "tool": "Write a Python tool"}


def script(during: str) -> dict[str, object]:
    """The answer to the `during` call takes 300 s (the others come at once)."""
    answers = {"gaps": json.dumps(GAP),
               "tool": "```python\ndef count_errors(log): return 0\n```"}
    slow = {"match": {"contains": [PROMPTS[during]]}, "times": 1,
            "respond": {"content": answers[during], "delay_s": 300}}
    return {"rules": [slow] + [{"match": {"contains": [PROMPTS[k]]},
                                "respond": {"content": answers[k]}} for k in PROMPTS]}


def one_run(tmp: Path, during: str) -> tuple[float, str]:
    from toolforge import Forge

    library = tmp / "lib"
    subprocess.run([sys.executable, "-m", "toolforge", "init", str(library), "--from",
                    str(ROOT / "library")], check=True, capture_output=True)
    with Forge(agent_fn=lambda task, tools: "no idea", library=library,
               auto_evolve=False) as forge:
        for i in range(5):
            forge.run(f"how many ERROR events did billing log? #{i}", expected=3)
    with ScriptedModelServer(script(during)) as model:
        env = {**os.environ, "TOOLFORGE_MODEL": "openai/scripted",
               "TOOLFORGE_API_BASE": model.base_url, "TOOLFORGE_API_KEY": "scripted",
               "TOOLFORGE_NO_DAEMON": "1"}
        proc = subprocess.Popen([sys.executable, "-m", "toolforge", "evolve", "-L",
                                 str(library), "--json"], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, text=True)
        while model.engine.uses()[0] == 0:
            if proc.poll() is not None:
                raise SystemExit(f"evolve ended early: {proc.communicate()[0]}")
            time.sleep(0.02)
        sent = time.perf_counter()
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=120)
        took = time.perf_counter() - sent
    message = json.loads(out)["error"]["message"] if out.strip() else f"exit {proc.returncode}"
    return took, message


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    for during in PROMPTS:  # the gap analysis (main thread), a gap's synthesis (its thread)
        times = []
        for _ in range(args.runs):
            with tempfile.TemporaryDirectory(prefix="tf-bench-interrupt-") as tmp:
                took, message = one_run(Path(tmp), during)
            times.append(took)
            print(f"  {took * 1000:7.0f} ms  {message}")
        p50 = statistics.median(times)
        print(f"SIGINT -> exit during the {during} call, {args.runs} runs: p50 {p50:.2f} s, "
              f"max {max(times):.2f} s (budget {BUDGET_S:.0f} s) "
              + ("OK" if max(times) <= BUDGET_S else "OVER"))


if __name__ == "__main__":
    main()
