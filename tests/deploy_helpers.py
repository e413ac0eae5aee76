"""Helpers for the deployment tests: bare remotes and clones, a real redis-server, the
scripted model for evolution, and waiting for a condition without timing anything."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest

from conftest import EXAMPLE_LIBRARY, git, run_cli

T = TypeVar("T")

# User config: validation without the property attack (the same verdict path, quicker).
FAST = "[sandbox]\nfuzz = false\n"

# Generous: the machine is shared and slow under load. These bound a hang, they do not
# measure anything.
WAIT_S = 240.0


def wait_for(what: str, check: Callable[[], T | None], timeout_s: float = WAIT_S,
             every_s: float = 0.2) -> T:
    """Poll `check` until it returns something truthy; fail (naming `what`) after a long
    timeout."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() >= deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(every_s)


def bare_remote(path: Path) -> Path:
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(path)], check=True)
    return path


def shared_library(tmp: Path, *, settings: dict[str, str] | None = None,
                   extra_toml: str = "") -> tuple[Path, Path]:
    """A library from the example tools, published to a new bare remote: (seed, remote)."""
    remote = bare_remote(tmp / "remote.git")
    seed = tmp / "seed"
    assert run_cli("init", seed, "--from", EXAMPLE_LIBRARY).exit_code == 0
    toml = seed / "toolforge.toml"
    text = toml.read_text()
    for key, value in (settings or {}).items():
        lines = [f"{key} = {value}" if line.startswith(f"{key} =") else line
                 for line in text.splitlines()]
        text = "\n".join(lines) + "\n"
    toml.write_text(text + extra_toml)
    git(seed, "commit", "-q", "--allow-empty", "-am", "settings for the test")
    assert run_cli("remote", "add", "origin", remote, "-L", seed).exit_code == 0
    synced = run_cli("sync", "-L", seed, "--json")
    assert synced.exit_code == 0, synced.stdout
    return seed, remote


def clone(remote: Path, path: Path) -> Path:
    subprocess.run(["git", "clone", "-q", "-b", "main", str(remote), str(path)], check=True)
    assert run_cli("sync", "-L", path, "--json").exit_code == 0
    return path


def remote_log(remote: Path, fmt: str = "%s") -> list[str]:
    return git(remote, "log", f"--format={fmt}", "main").splitlines()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def redis_server(tmp: Path) -> Iterator[str]:
    """A real redis-server on a free local port; its URL. Stopped (and its files removed)
    at the end."""
    exe = shutil.which("redis-server")
    if exe is None:
        pytest.fail("redis-server is not installed (`.ci/run` installs it from Debian)")
    workdir = tmp / "redis"
    workdir.mkdir(exist_ok=True)
    for _ in range(5):
        port = free_port()
        proc = subprocess.Popen(
            [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(workdir), "--protected-mode", "yes"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        up = False
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        up = True
                        break
            except OSError:
                time.sleep(0.05)
        if up:
            break
        proc.kill()
        proc.wait()
    else:
        pytest.fail("could not start redis-server")
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def write_config(path: Path, text: str) -> Path:
    path.write_text(text)
    os.chmod(path, 0o600)
    return path


TOOL_RE = r"(tool_[a-z0-9]+)"


def evolve_script(delay_s: float = 0.0) -> dict[str, Any]:
    """A scripted model that names the missing tool after the failed task ("need tool_x:
    ..."), and writes that tool, its tests and adversarial tests. `delay_s` slows the tool
    synthesis, so that a cycle is surely in flight for a while."""
    gap = {"gaps": [{"name": "{{1}}", "description": "Tag a text for {{1}}.",
                     "signature": "{{1}}(text: str) -> str", "rationale": "r",
                     "evidence": []}]}
    code = ('```python\ndef {{1}}(text: str) -> str:\n    """Tag a text.\n\n    Args:\n'
            '        text: the input.\n\n    Returns:\n        the text, tagged.\n    """\n'
            '    return "{{1}}:" + text\n```')
    tests = ('```python\nfrom tool import {{1}}\n\n\ndef test_tag():\n'
             '    assert {{1}}("a") == "{{1}}:a"\n\n\ndef test_empty():\n'
             '    assert {{1}}("") == "{{1}}:"\n```')
    return {"rules": [
        {"match": {"contains": ["You analyse failed agent runs"], "regex": f"need {TOOL_RE}"},
         "respond": {"content": json.dumps(gap)}},
        {"match": {"contains": ["Write a Python tool"], "regex": f"Name: {TOOL_RE}"},
         "respond": {"content": code, "delay_s": delay_s}},
        {"match": {"contains": ["Write pytest tests"], "regex": f"Name: {TOOL_RE}"},
         "respond": {"content": tests}},
        {"match": {"contains": ["trying to break this tool"],
                   "regex": f"Specification: {TOOL_RE}"},
         "respond": {"content": tests.replace("test_tag", "test_tag_again")}},
    ], "fallback": {"content": "OK"}}


def failed_run(tool: str, n: int, ident: str | None = None) -> dict[str, Any]:
    run: dict[str, Any] = {"task": f"need {tool}: tag the text #{n}", "final_answer": "?",
                           "expected": f"{tool}:x", "reward": 0.0}
    if ident:
        run["id"] = ident
    return run


def good_run(n: int, ident: str | None = None) -> dict[str, Any]:
    run: dict[str, Any] = {"task": f"say hello #{n}", "final_answer": "hello", "reward": 1.0}
    if ident:
        run["id"] = ident
    return run
