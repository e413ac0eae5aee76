"""Library operation latencies at 100, 1,000 and 10,000 tools, beside the budgets of
DESIGN.md §7 and issue 14.3, and ARISE's figures where ARISE has the operation.

    .venv/bin/python bench/library_ops.py            # 100, 1k, 10k tools (10k: 50k commits)
    .venv/bin/python bench/library_ops.py --quick    # 100 and 1k tools, fewer repetitions
    .venv/bin/python bench/library_ops.py --no-arise # without the ARISE comparison

Synthetic libraries are written with `git fast-import`, so a 50,000-commit history takes
seconds to build. `add` (without validation), `promote` (of a validated candidate) and
`rollback` are timed through the service (what the daemon runs), `add` also as ARISE's
add + promote (its library API: it has no CLI for adding). Then CLI processes as a user
waits for them: through the library's warm daemon (`list`, `show`, `add --no-validate`),
and in-process (`--no-daemon`). Last, the daemon's CPU while nobody uses it. Validation
itself: bench/validation.py. The machine is shared: compare figures of one run.
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
from toolforge.service.library_service import LibraryService

# p50 budgets in ms: DESIGN.md §7 and issue 14.3 (show and add: at up to 10k / 1k tools).
BUDGET_MS = {"add": 50.0, "promote": 100.0, "rollback": 100.0,
             "list (daemon)": 100.0, "show (daemon)": 150.0}
IDLE_CPU_BUDGET_PCT = 1.0
TOOLFORGE = [sys.executable, "-m", "toolforge"]


def tool_files(i: int, salt: int = 0) -> dict[str, str]:
    name = f"tool_{i:05d}"
    code = (
        f"def {name}(text: str, n: int = {salt}) -> str:\n"
        f'    """Synthetic tool {i}: tag a text with a number (rev {salt}).\n\n'
        "    Args:\n        text: input.\n        n: a number.\n\n"
        '    Returns:\n        the tagged text.\n    """\n'
        f"    return text[:100] + str(n) + {str(i)!r}\n"
    )
    tests = (f"from tool import {name}\n\n\ndef test_tag():\n"
             f"    assert {name}('a', 1) == 'a1{i}'\n")
    meta = (
        f'name = "{name}"\nversion = 1\nstatus = "active"\n'
        f'description = "Synthetic tool {i}"\nentrypoint = "{name}"\n'
        f'created_at = "2026-01-01T00:00:00Z"\n\n[provenance]\nsource = "bench"\n'
    )
    return {f"tools/{name}/tool.py": code, f"tools/{name}/test_tool.py": tests,
            f"tools/{name}/tool.toml": meta}


def build_library(root: Path, n_tools: int, n_commits: int) -> None:
    """A library with n_tools promoted tools (tag v1 each) and n_commits commits."""
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True)
    stream: list[bytes] = []
    mark = 0

    def blob(text: str) -> bytes:
        data = text.encode()
        return b"data %d\n" % len(data) + data + b"\n"

    def commit(files: dict[str, str], message: str, tag: str | None = None) -> None:
        nonlocal mark
        mark += 1
        parts = [b"commit refs/heads/main\n", b"mark :%d\n" % mark,
                 b"committer bench <bench@localhost> %d +0000\n" % (1_700_000_000 + mark),
                 blob(message)]
        if mark > 1:
            parts.append(b"from :%d\n" % (mark - 1))
        for path, text in files.items():
            parts.append(b"M 100644 inline " + path.encode() + b"\n" + blob(text))
        if tag:
            parts.append(b"reset refs/tags/" + tag.encode() + b"\nfrom :%d\n" % mark)
        stream.extend(parts)

    commit({"toolforge.toml": DEFAULT_SETTINGS_TOML, ".gitignore": GITIGNORE,
            "tools/.gitkeep": "", "candidates/.gitkeep": ""}, "initialize toolforge library\n")
    early = min(n_tools, 100)

    def promote(i: int) -> None:
        commit(tool_files(i), f"promote tool_{i:05d} v1\n\nToolforge-Action: promote\n",
               tag=f"tool/tool_{i:05d}/v1")

    # History grows as a real library does: a small library churns for a long time, then
    # grows; building churn on small trees keeps 50,000 commits to seconds, not minutes.
    for i in range(early):
        promote(i)
    for j in range(max(0, n_commits - n_tools - 1)):
        i = j % early
        files = tool_files(i, salt=j + 1)
        commit({f"tools/tool_{i:05d}/tool.py": files[f"tools/tool_{i:05d}/tool.py"]},
               f"edit tool_{i:05d}\n")
    for i in range(early, n_tools):
        promote(i)
    subprocess.run(["git", "-C", str(root), "fast-import", "--quiet"], input=b"".join(stream),
                   check=True)
    for key, value in (("feature.manyFiles", "true"), ("core.untrackedCache", "true")):
        subprocess.run(["git", "-C", str(root), "config", key, value], check=True)
    subprocess.run(["git", "-C", str(root), "checkout", "-q", "-f", "main"], check=True)
    # The shape a long-lived library has: packed objects and refs, and the commit-graph
    # with Bloom filters that toolforge's maintenance keeps fresh.
    subprocess.run(["git", "-C", str(root), "gc", "-q"], check=True)
    subprocess.run(["git", "-C", str(root), "commit-graph", "write", "--reachable",
                    "--changed-paths"], check=True)


def timed(fn: Callable[[], object], reps: int) -> list[float]:
    out = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def report(size: int, op: str, ms: list[float], cpu: list[float] | None = None) -> None:
    budget = BUDGET_MS.get(op)
    p50 = statistics.median(ms)
    verdict = ""
    if budget is not None:
        verdict = f"budget {budget:>5.0f} ms  {'ok' if p50 <= budget else 'OVER'}"
    cpu_text = f"cpu p50 {statistics.median(cpu):6.1f} ms  " if cpu else ""
    print(f"{size:>6} tools  {op:<22} p50 {p50:8.1f} ms  p95 {pct(ms, 0.95):8.1f} ms  "
          f"{cpu_text}(n={len(ms)})  {verdict}", flush=True)


def processes(argv: list[str], reps: int, env: dict[str, str]
              ) -> tuple[list[float], list[float]]:
    wall, cpu = [], []
    for _ in range(reps):
        w, c = arise_peer.timed_process(argv, env)
        wall.append(w)
        cpu.append(c)
    return wall, cpu


def daemon_pid(root: Path, env: dict[str, str]) -> int:
    out = subprocess.run([*TOOLFORGE, "daemon", "status", "-L", str(root), "--json"], env=env,
                         capture_output=True, text=True, check=True).stdout
    return int(json.loads(out)["result"]["pid"])


def wait_warm(root: Path, timeout_s: float = 300.0) -> None:
    """Until the daemon has built its indexes (it logs when the history index is ready)."""
    log = root / ".toolforge" / "daemon.log"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if log.exists() and "history index" in log.read_text(errors="replace"):
            return
        time.sleep(0.5)


SETTLE_S = 5.0


def idle_cpu_pct(pid: int, seconds: float) -> float:
    """The daemon's CPU use over `seconds` of nobody using it, in % of one core."""
    def ticks() -> int:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime + stime

    hz = os.sysconf("SC_CLK_TCK")
    before = ticks()
    time.sleep(seconds)
    return (ticks() - before) / hz / seconds * 100


def bench_size(n_tools: int, n_commits: int, reps: int, arise: Path | None,
               quick: bool) -> None:
    with tempfile.TemporaryDirectory(prefix="tf-bench-") as tmp:
        root = Path(tmp) / "lib"
        t0 = time.perf_counter()
        build_library(root, n_tools, n_commits)
        commits = subprocess.run(["git", "-C", str(root), "rev-list", "--count", "HEAD"],
                                 capture_output=True, text=True, check=True).stdout.strip()
        print(f"-- {n_tools} tools, {commits} commits (built in "
              f"{time.perf_counter() - t0:.1f} s)", flush=True)
        svc = LibraryService(root)
        counter = iter(range(10**9))

        def add() -> None:
            k = next(counter)
            f = tool_files(k % n_tools, salt=10_000 + k)
            name = f"tool_{k % n_tools:05d}"
            # The library operation alone: validation is benchmarked in bench/validation.py.
            svc.add(f[f"tools/{name}/tool.py"], f[f"tools/{name}/test_tool.py"],
                    validate=False)

        report(n_tools, "add", timed(add, reps))
        promote_ms = []
        for k in range(reps):  # promote the candidates add just made (distinct tools)
            name = f"tool_{k % n_tools:05d}"
            svc.validate(name)  # untimed: promote requires a passing validation
            start = time.perf_counter()
            svc.promote(name)
            promote_ms.append((time.perf_counter() - start) * 1000)
        report(n_tools, "promote", promote_ms)
        rollback_ms = []
        for k in range(reps):
            name = f"tool_{k % n_tools:05d}"
            start = time.perf_counter()
            svc.rollback(name)
            rollback_ms.append((time.perf_counter() - start) * 1000)
        report(n_tools, "rollback", rollback_ms)
        svc.close()

        if arise is not None:
            arise_lib = Path(tmp) / "arise_skills"
            report(n_tools, f"add+promote (ARISE {arise_peer.ARISE_VERSION})",
                   arise_peer.add_promote_ms(arise, arise_lib, n_tools, reps))

        env = {k: v for k, v in os.environ.items()
               if k not in ("TOOLFORGE_NO_DAEMON", "PYTHONDONTWRITEBYTECODE")}
        env["XDG_RUNTIME_DIR"] = str(Path(tmp) / "run")
        subprocess.run([*TOOLFORGE, "daemon", "start", "-L", str(root)], env=env, check=True,
                       stdout=subprocess.DEVNULL)
        try:
            wait_warm(root)

            def cli(*args: str) -> list[str]:
                return [*TOOLFORGE, *args, "-L", str(root), "--json"]

            processes(cli("list"), 1, env)  # warm the page cache once
            report(n_tools, "list (daemon)", *processes(cli("list"), reps, env))
            report(n_tools, "show (daemon)", *processes(cli("show", "tool_00001"), reps, env))
            src = Path(tmp) / "src"
            src.mkdir()
            adds = []
            for k in range(reps):
                f = tool_files(k % n_tools, salt=20_000 + k)
                name = f"tool_{k % n_tools:05d}"
                d = src / f"{name}_{k}"
                d.mkdir()
                (d / "tool.py").write_text(f[f"tools/{name}/tool.py"])
                (d / "test_tool.py").write_text(f[f"tools/{name}/test_tool.py"])
                adds.append(cli("add", str(d), "--name", name, "--no-validate"))
            walls, cpus = [], []
            for argv in adds:
                w, c = arise_peer.timed_process(argv, env)
                walls.append(w)
                cpus.append(c)
            report(n_tools, "add (CLI, daemon)", walls, cpus)
            seconds = 10.0 if quick else 30.0
            # Idle means nobody using it: first let the work the adds started finish (the
            # watcher's debounced checks of the changed tools, the list index).
            time.sleep(SETTLE_S)
            pct_used = idle_cpu_pct(daemon_pid(root, env), seconds)
            verdict = "ok" if pct_used < IDLE_CPU_BUDGET_PCT else "OVER"
            print(f"{n_tools:>6} tools  {'idle daemon CPU':<22} {pct_used:8.2f} % of a core "
                  f"over {seconds:.0f} s  budget < {IDLE_CPU_BUDGET_PCT:g} %  {verdict}",
                  flush=True)
        finally:
            subprocess.run([*TOOLFORGE, "daemon", "stop", "-L", str(root)], env=env,
                           stdout=subprocess.DEVNULL)
        no_daemon = {**env, "TOOLFORGE_NO_DAEMON": "1"}
        report(n_tools, "list (--no-daemon)",
               *processes([*TOOLFORGE, "list", "-L", str(root), "--json"], reps, no_daemon))
        report(n_tools, "show (--no-daemon)",
               *processes([*TOOLFORGE, "show", "tool_00001", "-L", str(root), "--json"], reps,
                          no_daemon))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 and 1k tools only")
    parser.add_argument("--no-arise", action="store_true", help="skip the ARISE comparison")
    parser.add_argument("--arise-venv", type=Path, help="ARISE's virtualenv (default: "
                        f"{arise_peer.DEFAULT_VENV}, made when missing)")
    args = parser.parse_args()
    arise = None if args.no_arise else arise_peer.arise_python(args.arise_venv)
    print("toolforge library benchmark (budgets: DESIGN.md §7, issue 14.3)")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, load "
          f"{os.getloadavg()[0]:.1f}; add/promote/rollback via the service, then CLI "
          "processes (through the daemon, and --no-daemon)")
    sizes = [(100, 500, 15), (1_000, 5_000, 15)]
    if not args.quick:
        sizes.append((10_000, 50_000, 15))
    for n_tools, n_commits, reps in sizes:
        bench_size(n_tools, n_commits, reps, arise, args.quick)


if __name__ == "__main__":
    main()
