"""An agent process that reports runs to the shared trajectory log, a few at a time.

Usage: queue_agent.py LIBRARY QUEUE_URL AGENT N GATE
Run n of agent a has id "a<AGENT>-<n>"; every 8th run failed for want of one of three
tools, the others succeeded. The second half waits until the file GATE exists (so a test
can stage what happens between the halves). Reports go through the service every client uses
(TrajectoryService.report: validated, then appended to the log).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from deploy_helpers import failed_run, good_run
from toolforge.service.trajectory_service import TrajectoryService

TOOLS = ("tool_alpha", "tool_beta", "tool_gamma")


def runs(agent: int, count: int) -> list[dict]:
    out = []
    for n in range(count):
        ident = f"a{agent}-{n:03d}"
        if n % 8 == agent % 8:
            out.append(failed_run(TOOLS[(n // 8 + agent) % 3], n, ident))
        else:
            out.append(good_run(n, ident))
    return out


def main() -> None:
    library, url, agent, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    gate = Path(sys.argv[5])
    svc = TrajectoryService(Path(library), queue=url)
    try:
        items = runs(agent, count)
        for i in range(0, len(items), 5):
            if i >= len(items) // 2:
                while not gate.exists():
                    time.sleep(0.1)
            svc.report(items[i:i + 5])
            time.sleep(0.05)
    finally:
        svc.close()


if __name__ == "__main__":
    main()
