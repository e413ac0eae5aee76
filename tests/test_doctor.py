"""`toolforge doctor` against real parts (the sandbox, the scripted model over HTTP, a real
daemon), and the demo's pre-flight: on a machine without an isolating sandbox it stops
before any work with the one command that fixes it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import run_cli
from toolforge.doctor.sandbox import SandboxFacts, isolation_fix
from toolforge.testing.scripted_model import ScriptedModelServer

APT = "sudo apt-get install -y bubblewrap"


def _by_id(report: dict) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for check in report["checks"]:
        out.setdefault(check["id"], check)
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_doctor_reports_machine_model_and_daemon(
        library: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TOOLFORGE_NO_DAEMON", raising=False)
    with ScriptedModelServer({"rules": [], "fallback": {"content": "hi"}}) as model:
        monkeypatch.setenv("TOOLFORGE_MODEL", "openai/scripted")
        monkeypatch.setenv("TOOLFORGE_API_BASE", model.base_url)
        monkeypatch.setenv("TOOLFORGE_SYNTH_MODEL", "openai/scripted-synth")
        assert run_cli("daemon", "start", "-L", library, "--json").exit_code == 0
        try:
            result = run_cli("doctor", "-L", library, "--json")
            text = run_cli("doctor", "-L", library)
        finally:
            run_cli("daemon", "stop", "-L", library, "--json")
    report = result.json
    assert result.exit_code == 0 and report["ok"] is True, result.stdout
    checks = _by_id(report)
    assert checks["python"]["details"]["version"].startswith("3.")
    assert checks["git"]["status"] == "ok" and checks["git"]["details"]["version"]
    assert checks["library"]["details"] == {"path": str(library), "found_by": "--library"}
    assert checks["config"]["status"] == "ok"
    assert checks["bwrap"]["details"]["bwrap_path"]
    userns = checks["userns"]["details"]["sysctls"]
    assert set(userns) == {"max_user_namespaces", "unprivileged_userns_clone",
                           "apparmor_restrict_unprivileged_userns"}
    backend = checks["backend"]
    assert backend["status"] == "ok" and backend["details"]["isolating"] is True
    assert backend["details"]["chosen"] in backend["summary"]
    roles = checks["model"]["details"]["roles"]
    assert roles["agent"]["model"] == "openai/scripted"
    assert roles["agent"]["source"] == "env TOOLFORGE_MODEL"
    assert roles["synthesis"]["model"] == "openai/scripted-synth"
    endpoints = [c for c in report["checks"] if c["id"] == "endpoint"]
    assert len(endpoints) == 2  # one per distinct (model, endpoint)
    assert all(e["status"] == "ok" and e["details"]["scripted"] for e in endpoints)
    assert "not a real LLM" in endpoints[0]["summary"]
    assert checks["daemon"]["status"] == "ok" and "running (pid" in checks["daemon"]["summary"]
    assert text.exit_code == 0 and "✓ sandbox backend" in text.stdout


def test_doctor_names_each_problem_with_its_fix(
        library: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    port = _free_port()  # nothing listens there
    monkeypatch.setenv("TOOLFORGE_MODEL", "openai/local")
    monkeypatch.setenv("TOOLFORGE_API_BASE", f"http://127.0.0.1:{port}/v1")
    result = run_cli("doctor", "-L", library, "--json")
    assert result.exit_code == 1
    endpoint = _by_id(result.json)["endpoint"]
    assert endpoint["status"] == "error" and "no answer" in endpoint["summary"]
    assert f"start the model server at http://127.0.0.1:{port}/v1" in endpoint["fix"]
    assert "TOOLFORGE_API_BASE" in endpoint["fix"]
    assert _by_id(run_cli("doctor", "--offline", "-L", library, "--json").json)[
        "endpoint"]["status"] == "info"

    config = tmp_path / "config.toml"
    config.write_text('[llm.roles.judge]\nmodel = "openai/j"\napi_key_env = "JUDGE_KEY"\n')
    monkeypatch.setenv("TOOLFORGE_CONFIG", str(config))
    model = _by_id(run_cli("doctor", "--offline", "-L", library, "--json").json)["model"]
    assert model["status"] == "error" and "JUDGE_KEY" in model["summary"]

    config.write_text("[sandbox]\nbackend = 'firejail'\n")
    result = run_cli("doctor", "-L", library, "--json")
    settings = _by_id(result.json)["config"]
    assert result.exit_code == 1 and settings["status"] == "error"
    assert str(config) in settings["summary"] and "sandbox.backend" in settings["summary"]


def test_doctor_explains_a_missing_bubblewrap(library: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOOLFORGE_BWRAP", "/nonexistent/bwrap")
    report = run_cli("doctor", "--offline", "-L", library, "--json").json
    checks = _by_id(report)
    assert checks["bwrap"]["status"] == "warn" and checks["bwrap"]["fix"] == APT
    backend = checks["backend"]
    if backend["details"]["isolating"]:  # another isolating backend works without bwrap
        assert backend["status"] == "ok" and report["ok"]
    else:
        assert backend["status"] == "error" and backend["fix"] == APT and not report["ok"]
        assert "does NOT isolate" in backend["summary"]


def _facts(**kw: object) -> SandboxFacts:
    base: dict[str, object] = dict(
        requested="auto", requested_by="default", chosen="rlimit", isolating=False, why="",
        available=["rlimit"], problem=None, bwrap_path="/usr/bin/bwrap", bwrap_version="0.9",
        bwrap_setuid=False, bwrap_problem="bwrap: setting up uid map: Permission denied",
        running_as_root=False,
        userns={"max_user_namespaces": 63000, "unprivileged_userns_clone": None,
                "apparmor_restrict_unprivileged_userns": 0})
    base.update(kw)
    return SandboxFacts(**base)  # type: ignore[arg-type]


def test_the_fix_is_one_command_for_each_machine() -> None:
    me = Path("/home/me/.config/toolforge/config.toml")
    assert isolation_fix(_facts(bwrap_path=None), me) == APT
    apparmor = isolation_fix(_facts(userns={"apparmor_restrict_unprivileged_userns": 1}), me)
    assert "profile toolforge-bwrap /usr/bin/bwrap" in apparmor and "userns," in apparmor
    assert apparmor.endswith("sudo apparmor_parser -r /etc/apparmor.d/toolforge-bwrap")
    debian = isolation_fix(_facts(userns={"unprivileged_userns_clone": 0}), me)
    assert "kernel.unprivileged_userns_clone=1" in debian and "sysctl --system" in debian
    assert "user.max_user_namespaces=" in isolation_fix(
        _facts(userns={"max_user_namespaces": 0}), me)
    stuck = isolation_fix(_facts(), me)
    assert "no command can fix" in stuck and f"allow_unisolated = true under [sandbox] in {me}" \
        in stuck
    chosen = isolation_fix(_facts(requested="rlimit", requested_by=f"user config {me}",
                                  available=["bwrap", "rlimit"]), me)
    assert chosen.startswith('set backend = "auto" under [sandbox]')
    assert isolation_fix(_facts(requested="rlimit", requested_by="env TOOLFORGE_SANDBOX",
                                available=["bwrap", "rlimit"]), me).startswith(
        "unset TOOLFORGE_SANDBOX")


def test_the_demo_stops_before_any_work_and_prints_the_fix(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    demo = tmp_path / "demo-library"
    config = tmp_path / "config.toml"
    monkeypatch.setenv("TOOLFORGE_CONFIG", str(config))
    # A machine where the backend asked for cannot run: bubblewrap is not installed.
    config.write_text('[sandbox]\nbackend = "bwrap"\n')
    monkeypatch.setenv("TOOLFORGE_BWRAP", "/nonexistent/bwrap")
    result = run_cli("demo", "-L", demo, "--json")
    assert result.exit_code == 1, result.stdout
    assert result.json["hint"] == APT
    assert "bubblewrap not found" in result.json["message"]
    assert not demo.exists()
    # A backend that does not isolate, chosen by the user without accepting that.
    monkeypatch.delenv("TOOLFORGE_BWRAP")
    config.write_text('[sandbox]\nbackend = "rlimit"\n')
    result = run_cli("demo", "-L", demo)
    assert result.exit_code == 1
    assert 'set backend = "auto" under [sandbox]' in result.stderr
    assert not demo.exists()


def test_the_demo_on_a_machine_with_no_isolating_backend(tmp_path: Path) -> None:
    """No bubblewrap and a kernel without Landlock (simulated by a seccomp filter that
    answers ENOSYS): the demo stops before any work with the one command that fixes it."""
    restricted = Path(__file__).parent / "helpers" / "restricted.py"
    env = {**os.environ, "TOOLFORGE_BWRAP": "/nonexistent/bwrap",
           "TOOLFORGE_CONFIG": "/dev/null"}
    env.pop("TOOLFORGE_SANDBOX", None)
    done = subprocess.run(
        [sys.executable, str(restricted), "--no-landlock", "--", sys.executable, "-m",
         "toolforge", "demo", "-L", str(tmp_path / "demo"), "--json"],
        capture_output=True, text=True, timeout=240, env=env)
    assert done.returncode == 1, done.stdout + done.stderr
    assert json.loads(done.stdout)["error"]["hint"] == APT  # the envelope (docs/json.md)
    assert not (tmp_path / "demo").exists()


def test_doctor_says_when_git_is_missing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    report = run_cli("doctor", "--offline", "-L", tmp_path / "lib", "--json")
    git_check = _by_id(report.json)["git"]
    assert report.exit_code == 1 and git_check["status"] == "error"
    assert git_check["fix"] == "sudo apt-get install -y git"
