"""The README's command lists run as written: each block goes to bash, line by line, in a
temp copy of the files it names, with the installed `toolforge` on PATH (in-process
commands: the daemon path is covered by tests/test_daemon_process.py)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO_ROOT

README = (REPO_ROOT / "README.md").read_text()


def _block(heading: str) -> str:
    start = README.index(heading)
    body = README.index("```sh", start) + len("```sh")
    return README[body:README.index("```", body)].strip() + "\n"


def _run(script: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return subprocess.run(["bash", "-c", "set -euo pipefail\n" + script], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)


def _workspace(tmp_path: Path, *parts: str) -> Path:
    for part in parts:
        src = REPO_ROOT / part
        (tmp_path / part).parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(src, tmp_path / part, ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


def test_the_by_hand_command_list_runs_as_written(tmp_path: Path) -> None:
    script = _block("## Try it by hand")
    assert script.startswith("toolforge init my-library --from library")
    done = _run(script, _workspace(tmp_path, "library", "examples"))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    lib = tmp_path / "my-library"
    tags = subprocess.run(["git", "-C", str(lib), "tag"], capture_output=True, text=True,
                          check=True).stdout.split()
    assert {"tool/slugify/v1", "tool/slugify/v2", "tool/slugify/v3"} <= set(tags)
    assert '"name": "slugify"' in done.stdout  # the export at the end


@pytest.mark.slow
def test_the_offline_try_runs_and_evolves_with_the_scripted_model(tmp_path: Path) -> None:
    script = _block("## Offline try")
    assert "python -m toolforge.testing.scripted_model" in script
    with socket.socket() as s:  # the README's port may be taken on a shared machine
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    script = script.replace("8765", str(port))
    work = _workspace(tmp_path, "examples", "src/toolforge/demo")
    done = _run(script, work)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-4000:]
    assert "0/3 solved" in out and "3/3 solved" in out
    assert "promote count_log_events v1" in out
    assert "rejected" in out and "upload_diagnostics" in out
