"""`toolforge list --json` with 1,000 tools through a warm daemon and in-process, and one raw
API round trip, beside the DESIGN.md §7 budget (p50 under 150 ms end to end).

    .venv/bin/python bench/daemon.py            # 1,000 tools, 30 CLI runs, 300 API calls
    .venv/bin/python bench/daemon.py --quick    # 10 CLI runs, 100 API calls

The library is written directly (files + one commit). The daemon runs in a private runtime
directory and is stopped at the end. The floors (bare interpreter, importing the CLI) show
how much of a CLI call is Python start-up rather than toolforge's work.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from toolforge.library.settings import DEFAULT_SETTINGS_TOML
from toolforge.library.store import GITIGNORE

BUDGET_MS = 150.0
TOOLFORGE = [sys.executable, "-m", "toolforge"]


def build_library(root: Path, n_tools: int) -> None:
    (root / "candidates").mkdir(parents=True)
    (root / "candidates/.gitkeep").write_text("")
    (root / "toolforge.toml").write_text(DEFAULT_SETTINGS_TOML)
    (root / ".gitignore").write_text(GITIGNORE)
    for i in range(n_tools):
        name = f"tool_{i:04d}"
        d = root / "tools" / name
        d.mkdir(parents=True)
        (d / "tool.py").write_text(
            f"def {name}(text: str) -> str:\n"
            f'    """Synthetic tool {i}: tag a text.\n\n    Args:\n        text: input.\n\n'
            f'    Returns:\n        the tagged text.\n    """\n    return text + {str(i)!r}\n')
        (d / "test_tool.py").write_text(
            f"from tool import {name}\n\n\ndef test_tag():\n    assert {name}('a') == 'a{i}'\n")
        (d / "tool.toml").write_text(
            f'name = "{name}"\nversion = 1\nstatus = "active"\n'
            f'description = "Synthetic tool {i}"\nentrypoint = "{name}"\n'
            f'created_at = "2026-01-01T00:00:00Z"\n\n[provenance]\nsource = "bench"\n')
    git = ["git", "-C", str(root), "-c", "user.name=bench", "-c", "user.email=bench@localhost"]
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", f"{n_tools} synthetic tools"], check=True)


def timed(fn: Callable[[], object], n: int) -> list[float]:
    fn()  # warm-up (caches, a lazily started daemon)
    out = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def report(name: str, samples: list[float], budget: float | None = None) -> dict[str, object]:
    samples = sorted(samples)
    p50 = statistics.median(samples)
    p95 = samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))]
    verdict = "" if budget is None else ("ok" if p50 <= budget else "OVER")
    budget_txt = "" if budget is None else f"p50 budget {budget:.0f} ms"
    print(f"{name:<44} p50 {p50:8.1f} ms   p95 {p95:8.1f} ms   {budget_txt} {verdict}")
    return {"name": name, "p50_ms": round(p50, 2), "p95_ms": round(p95, 2), "n": len(samples),
            "budget_ms": budget}


def run_cli(args: list[str], env: dict[str, str]) -> None:
    subprocess.run([*TOOLFORGE, *args], env=env, check=True, stdout=subprocess.DEVNULL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--tools", type=int, default=1000)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    n_cli, n_api = (10, 100) if args.quick else (30, 300)

    with tempfile.TemporaryDirectory(prefix="tf-bench-daemon-") as tmp:
        lib = Path(tmp) / "lib"
        build_library(lib, args.tools)
        env = {k: v for k, v in os.environ.items() if k != "TOOLFORGE_NO_DAEMON"}
        env["XDG_RUNTIME_DIR"] = str(Path(tmp) / "run")
        env["PYDANTIC_DISABLE_PLUGINS"] = "__all__"
        # Time what an installed toolforge does: with bytecode caches (a sandbox or CI may
        # set PYTHONDONTWRITEBYTECODE, which makes every start-up compile the source again).
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        no_daemon = {**env, "TOOLFORGE_NO_DAEMON": "1"}
        os.environ.update(env)  # the API client below finds the daemon the same way
        print(f"{args.tools} tools, {sys.version.split()[0]}, {os.cpu_count()} cores")
        results = [
            report("python -c pass (floor)", timed(
                lambda: subprocess.run([sys.executable, "-c", "pass"], check=True), n_cli)),
            report("import toolforge.cli.app (floor)", timed(
                lambda: subprocess.run([sys.executable, "-c", "import toolforge.cli.app"],
                                       env=env, check=True), n_cli)),
        ]
        list_args = ["list", "--json", "-L", str(lib)]
        results.append(report("toolforge list --json --no-daemon",
                              timed(lambda: run_cli(list_args, no_daemon), n_cli), BUDGET_MS))
        run_cli(["daemon", "start", "-L", str(lib)], env)
        try:
            results.append(report("toolforge list --json (warm daemon)",
                                  timed(lambda: run_cli(list_args, env), n_cli), BUDGET_MS))
            from toolforge.daemon.client import DaemonClient

            with DaemonClient(lib) as client:
                http = client._http
                results.append(report("API GET /v1/health (round trip)",
                                      timed(lambda: http.get("/v1/health"), n_api)))
                results.append(report(f"API GET /v1/tools ({args.tools} tools)",
                                      timed(lambda: http.get("/v1/tools"), n_api)))
                results.append(report("DaemonClient.list_tools() (parsed models)",
                                      timed(client.list_tools, n_api)))
        finally:
            run_cli(["daemon", "stop", "-L", str(lib)], env)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
