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
        f'    Returns:\n        tagged text.\n    """\n    return text + "!"  # {salt}\n'
    )


def test_source(name: str, salt: str) -> str:
    return (f"from tool import {name}\n\n\ndef test_tag():  # {salt}\n"
            f"    assert {name}('x') == 'x!'\n")


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
            op = rng.choice(["add", "add", "add", "promote", "promote", "rollback", "retire",
                             "reject"])
            if op == "add":
                src = scratch / f"{name}.py"
                salt = f"w{worker}-{i}"
                src.write_text(tool_source(name, salt))
                (scratch / f"test_{name}.py").write_text(test_source(name, salt))
                # Validation runs before promote; adds skip it to spend time in mutations.
                args = ["add", str(src), "--no-validate"]
            elif op == "promote":
                runner.invoke(app, ["validate", name, "-L", library, "--json"])
                args = ["promote", name]
            elif op == "reject":
                args = ["reject", name, "--reason", f"worker {worker} says no"]
            else:
                args = [op, name]
            result = runner.invoke(app, [*args, "-L", library, "--json"])
            try:
                envelope = json.loads(result.stdout)
                # The command's result; for a failure its error as {"error": kind, ...}.
                doc = envelope.get("result") if envelope.get("ok") else \
                    {"error": envelope["error"]["kind"], **envelope["error"]}
            except (ValueError, KeyError, AttributeError):
                doc = {"raw": result.stdout}
            out.write(json.dumps({"worker": worker, "op": op, "tool": name,
                                  "exit": result.exit_code, "result": doc}) + "\n")


if __name__ == "__main__":
    main()
