"""The core is headless: no UI, HTTP-server or LLM library is imported by it or by the thin
CLI's common paths (DESIGN.md §2)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from conftest import PYTHON

FORBIDDEN = ["textual", "fastapi", "uvicorn", "litellm", "openai", "starlette"]

PROBE = """
import json, sys
sys.argv = ["toolforge", *json.loads(sys.argv[1])]
if sys.argv[1:] == ["core"]:
    import toolforge, toolforge.library.store, toolforge.service.library_service
    import toolforge.tools.contract, toolforge.tools.export
    code = 0
else:
    from toolforge.cli.app import app
    try:
        app()
    except SystemExit as exc:
        code = exc.code
mods = sorted({m.split(".")[0] for m in sys.modules})
sys.stdout.write("\\n@@" + json.dumps({"code": code, "modules": mods}))
"""


def _imported(args: list[str]) -> tuple[int, set[str]]:
    out = subprocess.run([PYTHON, "-c", PROBE, json.dumps(args)], capture_output=True, text=True,
                         check=True).stdout
    doc = json.loads(out.rsplit("@@", 1)[1])
    return doc["code"], set(doc["modules"])


@pytest.mark.parametrize("args", [["core"], ["--help"], ["list", "--json"], ["list"]])
def test_no_heavy_imports(args: list[str], example_library: Path) -> None:
    if args[0] == "list":
        args = [*args, "-L", str(example_library)]
    code, modules = _imported(args)
    assert code in (0, None)
    assert not modules & set(FORBIDDEN), modules & set(FORBIDDEN)
