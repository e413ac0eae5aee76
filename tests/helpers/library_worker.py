"""A process that hammers a library with random add/promote/rollback through the CLI.

Usage: library_worker.py LIBRARY WORKER_ID N_OPS SEED LOG   (N_OPS 0 = forever)
Each finished operation is appended to LOG as one JSON line, flushed at once.
"""

from __future__ import annotations

import json
import random
import sys
import tempfile
from pathlib import Path

from typer.testing import CliRunner

from toolforge.cli.app import app

POOL = ["alpha", "beta", "gamma", "delta"]


def tool_source(name: str, salt: str) -> str:
    return (
        f"def {name}(text: str) -> str:\n"
        f'    """Tag a text ({salt}).\n\n    Args:\n        text: input.\n\n'
        f'    Returns:\n        tagged text.\n    """\n    return text + {salt!r}\n'
    )


def main() -> None:
    library, worker, n_ops, seed, log = sys.argv[1:6]
    rng = random.Random(int(seed))
    runner = CliRunner()
    # Warm the imports so that kills after "ready" land in real work, not in start-up.
    runner.invoke(app, ["list", "-L", library, "--json"])
    import git  # noqa: F401

    import toolforge.service.library_service  # noqa: F401

    scratch = Path(tempfile.mkdtemp(prefix=f"worker{worker}-"))
    print("ready", flush=True)
    i = 0
    with open(log, "a", buffering=1) as out:
        while int(n_ops) == 0 or i < int(n_ops):
            i += 1
            name = rng.choice(POOL)
            op = rng.choice(["add", "add", "add", "promote", "promote", "rollback"])
            if op == "add":
                src = scratch / f"{name}.py"
                src.write_text(tool_source(name, f"w{worker}-{i}"))
                args = ["add", str(src)]
            elif op == "promote":
                args = ["promote", name]
            else:
                args = ["rollback", name]
            result = runner.invoke(app, [*args, "-L", library, "--json"])
            try:
                doc = json.loads(result.stdout)
            except ValueError:
                doc = {"raw": result.stdout}
            out.write(json.dumps({"worker": worker, "op": op, "tool": name,
                                  "exit": result.exit_code, "result": doc}) + "\n")


if __name__ == "__main__":
    main()
