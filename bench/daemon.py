"""`toolforge list --json` at 1,000 tools: through the warm daemon (the thin CLI's path),
in-process, and ARISE's `arise skills` beside them; the imports of the hot path; raw API
round trips; health and list while 150 clients submit tools at once (issue 10 item 4).
Budgets (DESIGN.md §7, issue 14.3): p50 <= 100 ms wall and <= 80 ms CPU through the
daemon; under the 150 submissions, health p99 <= 50 ms and list p99 <= 500 ms.

    .venv/bin/python bench/daemon.py               # 1,000 tools, 30 CLI runs, 300 API calls
    .venv/bin/python bench/daemon.py --quick       # 10 CLI runs, 100 API calls
    .venv/bin/python bench/daemon.py --no-arise    # without the ARISE comparison
    .venv/bin/python bench/daemon.py --submitters 0  # without the load section

The library is written directly (files + one commit); ARISE's, with its own API (see
bench/arise_peer.py for the virtualenv it runs in). The daemon runs in a private runtime
directory and is stopped at the end. The floors show how much of a CLI call is Python's
own start-up. The machine is shared: compare the figures of one run with each other.
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
sys.path.insert(0, str(Path(__file__).resolve().parent))

import arise_peer

from toolforge.library.settings import DEFAULT_SETTINGS_TOML
from toolforge.library.store import GITIGNORE

BUDGET_WALL_MS = 100.0
BUDGET_CPU_MS = 80.0
LOAD_HEALTH_P99_MS = 50.0
LOAD_LIST_P99_MS = 500.0
TOOLFORGE = [sys.executable, "-m", "toolforge"]
HEAVY = ("typer", "click", "pydantic", "httpx", "httpcore", "rich", "git", "ssl", "email")


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


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def report(name: str, wall: list[float], cpu: list[float] | None = None,
           budget: tuple[float, float] | None = None) -> dict[str, object]:
    p50 = statistics.median(wall)
    line = (f"{name:<46} p50 {p50:7.1f} ms  p95 {pct(wall, 0.95):7.1f} ms  "
            f"p99 {pct(wall, 0.99):7.1f} ms")
    doc: dict[str, object] = {"name": name, "p50_ms": round(p50, 2),
                              "p95_ms": round(pct(wall, 0.95), 2),
                              "p99_ms": round(pct(wall, 0.99), 2), "n": len(wall)}
    if cpu is not None:
        cpu50 = statistics.median(cpu)
        line += f"  cpu p50 {cpu50:6.1f} ms"
        doc["cpu_p50_ms"] = round(cpu50, 2)
    if budget is not None:
        ok = p50 <= budget[0] and (cpu is None or statistics.median(cpu) <= budget[1])
        line += f"  budget {budget[0]:.0f}/{budget[1]:.0f} ms {'ok' if ok else 'OVER'}"
        doc["budget_ms"] = list(budget)
    print(line, flush=True)
    return doc


def processes(argv: list[str], n: int, env: dict[str, str] | None = None
              ) -> tuple[list[float], list[float]]:
    arise_peer.timed_process(argv, env)  # warm-up: caches, a lazily started daemon
    wall, cpu = [], []
    for _ in range(n):
        w, c = arise_peer.timed_process(argv, env)
        wall.append(w)
        cpu.append(c)
    return wall, cpu


def calls(fn: Callable[[], object], n: int) -> list[float]:
    fn()
    out = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def under_submissions(lib: Path, submitters: int, n: int) -> list[dict[str, object]]:
    """Health and list latencies while `submitters` clients each add a tool (validated, so
    each request lasts as long as its validation waits in the queue)."""
    import threading

    from toolforge.daemon.client import DaemonClient

    client = DaemonClient(lib, models=False)
    stop = threading.Event()

    def submit(i: int) -> None:
        name = f"load_{i:03d}"
        code = (f"def {name}(text: str) -> str:\n    \"\"\"Tag a text.\"\"\"\n"
                f"    return text + {str(i)!r}\n")
        tests = (f"from tool import {name}\n\n\ndef test_tag():\n"
                 f"    assert {name}('a') == 'a{i}'\n")
        if not stop.is_set():
            try:
                client.request_json("POST", "/v1/tools", body={"code": code, "tests": tests})
            except Exception:  # cut off when the daemon stops at the end
                pass

    threads = [threading.Thread(target=submit, args=(i,), daemon=True)
               for i in range(submitters)]
    for t in threads:
        t.start()
    time.sleep(1.0)  # let them all arrive
    in_flight = sum(t.is_alive() for t in threads)
    print(f"{'  submissions in flight while measuring':<46} {in_flight} of {submitters}")
    out = []
    for what, fn, budget in (("health", client.probe, LOAD_HEALTH_P99_MS),
                             ("list", client.list_tools, LOAD_LIST_P99_MS)):
        doc = report(f"{what} under {submitters} submissions", calls(fn, n))
        p99 = float(doc["p99_ms"])  # type: ignore[arg-type]
        print(f"{'  its p99 against the budget':<46} {p99:.1f} / {budget:.0f} ms "
              f"{'ok' if p99 <= budget else 'OVER'}")
        out.append({**doc, "budget_p99_ms": budget})
    stop.set()
    return out


def hot_path_imports(args: list[str], env: dict[str, str]) -> list[str]:
    """The heavy modules a CLI run imports (there should be none)."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "toolforge", *args],
                          env=env, capture_output=True, text=True, check=True)
    modules = {line.split("|")[-1].strip().split(".")[0]
               for line in done.stderr.splitlines() if line.startswith("import time:")}
    return sorted(modules & set(HEAVY))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--tools", type=int, default=1000)
    parser.add_argument("--no-arise", action="store_true", help="skip the ARISE comparison")
    parser.add_argument("--arise-venv", type=Path, help="ARISE's virtualenv (default: "
                        f"{arise_peer.DEFAULT_VENV}, made when missing)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--submitters", type=int, default=150,
                        help="concurrent submissions for the load section (0: skip it)")
    args = parser.parse_args()
    n_cli, n_api = (10, 100) if args.quick else (30, 300)
    arise = None if args.no_arise else arise_peer.arise_python(args.arise_venv)

    # (ignore_cleanup_errors: the stopped daemon's last git processes may still be exiting)
    with tempfile.TemporaryDirectory(prefix="tf-bench-daemon-",
                                     ignore_cleanup_errors=True) as tmp:
        lib = Path(tmp) / "lib"
        build_library(lib, args.tools)
        env = {k: v for k, v in os.environ.items() if k != "TOOLFORGE_NO_DAEMON"}
        env["XDG_RUNTIME_DIR"] = str(Path(tmp) / "run")
        # Time what an installed toolforge does: with bytecode caches (a sandbox or CI may
        # set PYTHONDONTWRITEBYTECODE, which makes every start-up compile the source again).
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        no_daemon = {**env, "TOOLFORGE_NO_DAEMON": "1"}
        os.environ.update(env)  # the API client below finds the daemon the same way
        print(f"{args.tools} tools, python {sys.version.split()[0]}, {os.cpu_count()} cores, "
              f"load {os.getloadavg()[0]:.1f}")
        results = [
            report("python -c pass (floor)", *processes([sys.executable, "-c", "pass"],
                                                        n_cli)),
            report("import the thin CLI's modules (floor)", *processes(
                [sys.executable, "-c", "import toolforge.cli.main, toolforge.cli.library_cmds,"
                 " toolforge.daemon.client"], n_cli, env)),
        ]
        list_args = [*TOOLFORGE, "list", "--json", "-L", str(lib)]
        subprocess.run([*TOOLFORGE, "daemon", "start", "-L", str(lib)], env=env, check=True,
                       stdout=subprocess.DEVNULL)
        try:
            results.append(report("toolforge list --json (warm daemon)",
                                  *processes(list_args, n_cli, env),
                                  budget=(BUDGET_WALL_MS, BUDGET_CPU_MS)))
            heavy = hot_path_imports(["list", "--json", "-L", str(lib)], env)
            print(f"{'  heavy modules imported on that path':<46} {', '.join(heavy) or 'none'}")
            results.append({"name": "heavy modules on the hot path", "modules": heavy})
            results.append(report("toolforge list --json --no-daemon",
                                  *processes(list_args, n_cli, no_daemon)))
            if arise is not None:
                arise_lib = Path(tmp) / "arise_skills"
                arise_peer.build_library(arise, arise_lib, args.tools)
                results.append(report(f"arise skills (ARISE {arise_peer.ARISE_VERSION})",
                                      *processes(arise_peer.skills_cli(arise, arise_lib),
                                                 n_cli)))
            from toolforge.daemon.client import DaemonClient

            client = DaemonClient(lib, models=False)
            results.append(report("API GET /v1/health (stdlib client)",
                                  calls(client.probe, n_api)))
            results.append(report(f"API GET /v1/tools ({args.tools} tools, JSON)",
                                  calls(client.list_tools, n_api)))
            if args.submitters:
                results.extend(under_submissions(lib, args.submitters, n_api))
        finally:
            subprocess.run([*TOOLFORGE, "daemon", "stop", "-L", str(lib)], env=env,
                           stdout=subprocess.DEVNULL)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
