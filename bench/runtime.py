"""A warm tool call through the runtime, beside the DESIGN.md §7 budgets (p50 <= 2 ms
in-process, <= 5 ms through MCP) and beside an unsandboxed in-process call of the same
function (what ARISE does: its tools run in the agent's own process, without isolation).

    .venv/bin/python bench/runtime.py            # 500 calls per path
    .venv/bin/python bench/runtime.py --quick    # 100 calls per path

Paths, each warm (first calls excluded) and each a complete call as its users make it:
- unsandboxed: exec the tool's code here and call the function (no checks, no isolation);
- runtime in-process: `Runtime.call` (schema check, sandboxed host, usage record);
- daemon route: `DaemonClient.call_tool` -> POST /v1/tools/{name}/call over the socket;
- MCP stdio: the SDK's own client calling `toolforge mcp` in a subprocess, end to end.
The library is made through the real add/validate/promote path in a temp dir; the daemon
runs in a private runtime directory and is stopped at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

TOOL = '''def scale(values: list[int], factor: int = 2) -> list[int]:
    """Multiply every value by a factor.

    Args:
        values: the numbers.
        factor: the multiplier.

    Returns:
        The scaled numbers.
    """
    return [v * factor for v in values]
'''
TESTS = '''from tool import scale


def test_scale():
    assert scale([1, 5]) == [2, 10]
    assert scale([1], 3) == [3]
'''
ARGS: dict[str, Any] = {"values": [1, 2, 3, 4], "factor": 3}
EXPECTED = [3, 6, 9, 12]
BUDGET_IN_PROCESS_MS = 2.0
BUDGET_MCP_MS = 5.0


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return statistics.median(ordered), p99


def timed(fn: Callable[[], Any], n: int, warm: int = 20) -> list[float]:
    for _ in range(warm):
        fn()
    out = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def line(name: str, samples: list[float], baseline: float | None, budget: float | None
         ) -> dict[str, Any]:
    p50, p99 = percentiles(samples)
    ratio = f"{p50 / baseline:8.0f}x unsandboxed" if baseline else " " * 20
    verdict = "" if budget is None else (
        f"  p50 budget {budget:g} ms {'ok' if p50 <= budget else 'OVER'}")
    print(f"{name:<34} p50 {p50:9.4f} ms   p99 {p99:9.4f} ms   {ratio}{verdict}")
    return {"name": name, "p50_ms": round(p50, 4), "p99_ms": round(p99, 4), "n": len(samples),
            "budget_ms": budget}


def build(root: Path) -> None:
    from toolforge.service.library_service import LibraryService, init_library

    init_library(root)
    svc = LibraryService(root)
    try:
        added = svc.add(TOOL, TESTS)
        if added.warnings:
            raise SystemExit(f"the bench tool did not validate: {added.warnings}")
        svc.promote("scale")
    finally:
        svc.close()


def unsandboxed() -> Callable[[], Any]:
    namespace: dict[str, Any] = {}
    exec(compile(TOOL, "tool.py", "exec"), namespace)
    fn = namespace["scale"]
    return lambda: fn(**ARGS)


def mcp_samples(root: Path, n: int) -> list[float]:
    import anyio
    from mcp.client.session import ClientSession
    from mcp.client.stdio import StdioServerParameters, stdio_client

    async def run() -> list[float]:
        params = StdioServerParameters(command=sys.executable,
                                       args=["-m", "toolforge", "mcp", "-L", str(root)],
                                       env=dict(os.environ))
        async with stdio_client(params) as (read, write), ClientSession(read, write) as s:
            await s.initialize()
            await s.list_tools()  # the client validates results against outputSchema
            samples = []
            for i in range(n + 20):
                start = time.perf_counter()
                result = await s.call_tool("scale", ARGS)
                elapsed = (time.perf_counter() - start) * 1000
                assert not result.is_error and result.structured_content == {
                    "result": EXPECTED}, result
                if i >= 20:
                    samples.append(elapsed)
            return samples

    return anyio.run(run)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    n = 100 if args.quick else 500

    with tempfile.TemporaryDirectory(prefix="tf-bench-runtime-") as tmp:
        root = Path(tmp) / "lib"
        os.environ["XDG_RUNTIME_DIR"] = str(Path(tmp) / "run")
        os.environ.pop("TOOLFORGE_NO_DAEMON", None)
        os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
        build(root)
        from toolforge.runtime import open_runtime

        print(f"{sys.version.split()[0]}, {os.cpu_count()} cores, {n} warm calls per path")
        base = timed(unsandboxed(), n)
        baseline = percentiles(base)[0]
        results = [line("unsandboxed in-process (ARISE)", base, None, None)]

        with open_runtime(root) as runtime:
            def call() -> None:
                result = runtime.call("scale", ARGS)
                assert result.ok and result.value == EXPECTED, result
            results.append(line("runtime in-process (sandboxed)", timed(call, n), baseline,
                                BUDGET_IN_PROCESS_MS))
            print(f"{'':34} backend {runtime.hosts().backend.name}")

        from toolforge.daemon.client import connect

        client = connect(root)
        try:
            def daemon_call() -> None:
                result = client.call_tool("scale", ARGS)
                assert result.ok and result.value == EXPECTED, result
            results.append(line("daemon route (socket, HTTP)", timed(daemon_call, n),
                                baseline, None))
        finally:
            client.shutdown()
            client.close()

        results.append(line("MCP stdio (SDK client, end to end)", mcp_samples(root, n),
                            baseline, BUDGET_MCP_MS))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
