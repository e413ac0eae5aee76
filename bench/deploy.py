"""Deployment figures: publishing changes to a shared git remote, and runs through Redis.

    .venv/bin/python bench/deploy.py            # 20 changes, 2,000 runs
    .venv/bin/python bench/deploy.py --quick    # 8 changes, 500 runs

- a library change (retire + rollback of a tool) without a remote, and with a shared bare
  remote (the compare-and-swap push is in the figure), and when another clone published
  first (fetch + re-apply the one commit + push again);
- runs through the trajectory log: `TrajectoryService.report` appending batches of 10 to a
  real redis-server, and a worker's read + acknowledge of them.

There is no peer figure: ARISE's distributed mode needs S3 and SQS (hosted services),
which this machine cannot reach. The load the machine was under is printed beside the
figures (the machine is shared).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

os.environ.setdefault("TOOLFORGE_NO_DAEMON", "1")
os.environ.setdefault("TOOLFORGE_CONFIG", os.devnull)
for kind in ("AUTHOR", "COMMITTER"):
    os.environ.setdefault(f"GIT_{kind}_NAME", "bench")
    os.environ.setdefault(f"GIT_{kind}_EMAIL", "bench@localhost")

from toolforge.queue.redis_streams import RedisStreamLog  # noqa: E402
from toolforge.service.library_service import LibraryService, init_library  # noqa: E402
from toolforge.service.trajectory_service import TrajectoryService  # noqa: E402


def ms(samples: list[float]) -> str:
    s = sorted(samples)
    return (f"p50 {statistics.median(s):7.1f} ms   p90 {s[int(0.9 * (len(s) - 1))]:7.1f} ms"
            f"   (n={len(s)})")


def timed(fn: Callable[[], object], n: int) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def git(*args: str) -> None:
    subprocess.run(["git", *args], check=True, capture_output=True)


def library(tmp: Path, name: str) -> Path:
    path = tmp / name
    init_library(path, ROOT / "library")
    return path


def changes(svc: LibraryService, n: int) -> list[float]:
    """One change = retire sha256_hex, then bring it back (two commits, two publishes)."""
    def one() -> None:
        svc.retire("sha256_hex")
        svc.rollback("sha256_hex")
    return [t / 2 for t in timed(one, n)]


def bench_git(tmp: Path, n: int) -> None:
    local = library(tmp, "local")
    svc = LibraryService(local)
    print(f"  change, no remote:              {ms(changes(svc, n))}")
    svc.close()

    remote = tmp / "remote.git"
    git("init", "-q", "--bare", "-b", "main", str(remote))
    shared = library(tmp, "shared")
    svc = LibraryService(shared)
    svc.add_remote("origin", str(remote))
    svc.sync()
    print(f"  change, shared (CAS push):      {ms(changes(svc, n))}")
    other = tmp / "other"
    git("clone", "-q", "-b", "main", str(remote), str(other))
    other_svc = LibraryService(other)
    other_svc.sync()

    raced: list[float] = []
    for i in range(n):
        # the other clone publishes first: our next push is rejected, re-applied, pushed
        svc.retire("convert_units") if i % 2 == 0 else svc.rollback("convert_units")
        t = time.perf_counter()
        other_svc.retire("sha256_hex") if i % 2 == 0 else other_svc.rollback("sha256_hex")
        raced.append((time.perf_counter() - t) * 1000)
    print(f"  change, after a race (rebase):  {ms(raced)}")
    svc.close()
    other_svc.close()


def bench_redis(tmp: Path, runs: int) -> None:
    exe = shutil.which("redis-server")
    if exe is None:
        print("  (redis-server not installed: skipped)")
        return
    sock = tmp / "redis.sock"
    proc = subprocess.Popen([exe, "--port", "0", "--unixsocket", str(sock), "--save", "",
                             "--appendonly", "no", "--dir", str(tmp)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            if sock.exists():
                break
            time.sleep(0.05)
        url = f"unix://{sock}"
        lib = library(tmp, "queued")
        svc = TrajectoryService(lib, queue=url)
        batch = [{"task": f"t{i}", "final_answer": "x", "reward": 0.2 * (i % 5)}
                 for i in range(10)]
        per_batch = timed(lambda: svc.report(batch), runs // 10)
        total_s = sum(per_batch) / 1000
        print(f"  report --queue, 10 runs a call: {ms(per_batch)}  "
              f"= {runs / total_s:,.0f} runs/s")
        stream = svc.log.name.split("stream ", 1)[1]
        svc.close()
        log = RedisStreamLog(url, stream, "bench", retention_s=3600)
        t = time.perf_counter()
        seen = 0
        while seen < runs:
            entries = log.read("w", count=100, block_s=0.1)
            if not entries:
                break
            log.ack("w", [e.id for e in entries])
            seen += len(entries)
        took = time.perf_counter() - t
        print(f"  worker read + ack (100 a read): {seen / took:,.0f} runs/s ({seen} runs)")
        log.close()
    finally:
        proc.terminate()
        proc.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    n, runs = (8, 500) if args.quick else (20, 2000)
    print(f"toolforge deployment figures (load average {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} cores)")
    with tempfile.TemporaryDirectory(prefix="tf-bench-deploy-") as tmp:
        print("shared library (git):")
        bench_git(Path(tmp), n)
        print("runs through Redis Streams:")
        bench_redis(Path(tmp), runs)
    print("ARISE arise-ai==0.2.1: no comparable figure (its distributed mode needs S3 + SQS)")


if __name__ == "__main__":
    main()
