"""The CLI as one interface for scripts and people (issue 14 items 7-9, 11; issue 9 item 7):
the JSON envelope on every command, global options, plain output off a terminal, shell
completion, exit codes scripts can trust, and text from tools that never drives the
terminal. In-process (--no-daemon, from conftest) unless a test says otherwise."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from conftest import PYTHON, git, make_tests, make_tool, python_env, run_cli, write_tool_dir
from toolforge.service.library_service import LibraryService

ENVELOPE_KEYS = {"schema_version", "command", "ok", "library", "warnings"}
# What must never reach a terminal raw: ESC (CSI/OSC start), one-byte CSI, BEL, CR, bidi.
RAW = re.compile("[\x1b\x9b\x07\r\u202e\u2066]")


def cli_process(*args: str | Path, env: dict[str, str] | None = None
                ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PYTHON, "-m", "toolforge", *map(str, args)], capture_output=True,
                          text=True, env=env or python_env(), timeout=120)


def assert_envelope(doc: dict[str, Any], command: str, *, ok: bool) -> None:
    assert set(doc) >= ENVELOPE_KEYS, doc
    assert doc["schema_version"] == 1 and doc["command"] == command and doc["ok"] is ok
    assert isinstance(doc["warnings"], list)
    if ok:
        assert "result" in doc and "error" not in doc
    else:
        error = doc["error"]
        assert {"kind", "message", "hint", "exit_code"} <= set(error)
        assert error["exit_code"] in (1, 2, 3)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A library with an active tool `shout`, a candidate `whisper`, and a validated
    report (built once; tests copy it)."""
    path = tmp_path_factory.mktemp("iface") / "lib"
    with pytest.MonkeyPatch.context() as mp:
        home = tmp_path_factory.mktemp("iface-home")
        mp.setenv("HOME", str(home))
        mp.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
        mp.setenv("GIT_CONFIG_NOSYSTEM", "1")
        assert run_cli("init", path).exit_code == 0
        svc = LibraryService(path)
        try:
            svc.add(make_tool("shout"), make_tests("shout"))
            svc.promote("shout")
            svc.add(make_tool("whisper", body="return text.lower()", doc="Lower-case."),
                    make_tests("whisper", "abc"))
        finally:
            svc.close()
    return path


@pytest.fixture
def lib(built: Path, tmp_path: Path) -> Path:
    path = tmp_path / "lib"
    shutil.copytree(built, path, symlinks=True)
    return path


# --- one envelope ------------------------------------------------------------------------------


@pytest.mark.parametrize(("args", "command", "ok"), [
    (["list"], "list", True),
    (["show", "shout"], "show", True),
    (["show", "nobody"], "show", False),
    (["history", "shout"], "history", True),
    (["diff", "whisper"], "diff", False),  # only a candidate: nothing to compare
    (["export"], "export", True),
    (["promote", "shout"], "promote", False),  # already active
    (["rollback", "shout"], "rollback", False),  # no earlier version
    (["jobs"], "jobs", True),
    (["trajectories", "list"], "trajectories list", True),
    (["daemon", "status"], "daemon status", True),
    (["daemon", "logs"], "daemon logs", True),
    (["list", "--status", "bogus"], "list", False),  # usage errors are JSON too
    (["show"], "show", False),
    (["no-such-command"], None, False),
])
def test_every_command_prints_one_envelope(lib: Path, args: list[str], command: str | None,
                                           ok: bool) -> None:
    result = run_cli(*args, "-L", lib, "--json")
    doc = json.loads(result.stdout)  # exactly one JSON document
    assert_envelope(doc, command, ok=ok)  # type: ignore[arg-type]
    assert doc["library"] == str(lib)
    assert result.exit_code == (0 if ok else doc["error"]["exit_code"])
    if not ok and doc["error"]["kind"] == "usage":
        assert result.exit_code == 2


def test_global_options_go_before_the_command(lib: Path) -> None:
    before = run_cli("-L", lib, "--json", "list")
    after = run_cli("list", "-L", lib, "--json")
    assert before.exit_code == after.exit_code == 0
    assert before.envelope == after.envelope
    # the thin entry point (no Typer) takes them the same way
    thin = cli_process("--json", "-L", lib, "show", "shout")
    assert thin.returncode == 0, thin.stderr
    assert json.loads(thin.stdout)["result"]["tool"] == "shout"
    # a command's own option wins over the global one
    other = lib.parent / "other"
    assert run_cli("init", other).exit_code == 0
    assert run_cli("-L", other, "list", "-L", lib, "--json").envelope["library"] == str(lib)


def test_tool_is_called_tool_in_every_result(lib: Path) -> None:
    listing = run_cli("list", "-L", lib, "--json").json
    shown = run_cli("show", "shout", "-L", lib, "--json").json
    history = run_cli("history", "shout", "-L", lib, "--json").json
    assert {t["tool"] for t in listing["tools"]} == {"shout", "whisper"}
    assert shown["tool"] == "shout" and history["tool"] == "shout"
    assert all("name" not in t for t in listing["tools"])


def test_export_json_means_something(lib: Path) -> None:
    raw = json.loads(run_cli("export", "-L", lib).stdout)
    wrapped = run_cli("export", "--format", "mcp", "-L", lib, "--json").json
    assert [t["function"]["name"] for t in raw] == ["shout"]
    assert wrapped["format"] == "mcp" and wrapped["tools"]["tools"][0]["name"] == "shout"


# --- plain output off a terminal ---------------------------------------------------------------


def test_text_output_is_plain_when_not_a_terminal(lib: Path) -> None:
    long = "A description far longer than any terminal line: " + "word " * 40
    svc = LibraryService(lib)
    try:
        svc.add(make_tool("loud", doc=long.strip()), make_tests("loud"), validate=False)
    finally:
        svc.close()
    out = cli_process("list", "-L", lib).stdout
    assert long.strip() in out  # not cut to 80 columns
    assert "\x1b[" not in out  # no colour codes in a pipe
    assert all(line == line.rstrip() for line in out.splitlines())  # no padding


# --- shell completion --------------------------------------------------------------------------


def test_bash_completion_completes_commands_and_tool_names(lib: Path, tmp_path: Path) -> None:
    script = cli_process("completion", "bash")
    assert script.returncode == 0 and "complete" in script.stdout, script.stderr
    completion = tmp_path / "toolforge.bash"
    completion.write_text(script.stdout)
    shim = tmp_path / "bin"
    shim.mkdir()
    (shim / "toolforge").write_text(f'#!/bin/sh\nexec {PYTHON} -m toolforge "$@"\n')
    (shim / "toolforge").chmod(0o755)
    env = {**python_env(), "PATH": f"{shim}:{os.environ['PATH']}", "TOOLFORGE_LIBRARY": str(lib)}

    def complete(*words: str) -> list[str]:
        line = " ".join(words)
        program = (f"source {completion}; COMP_WORDS=({line}); COMP_CWORD={len(words) - 1}; "
                   f"COMP_LINE='{line}'; COMP_POINT={len(line)}; _toolforge_completion toolforge; "
                   'printf "%s\\n" "${COMPREPLY[@]}"')
        done = subprocess.run(["bash", "-c", program], capture_output=True, text=True,
                              env=env, timeout=120)
        return done.stdout.split()

    assert "list" in complete("toolforge", "li")
    assert {"shout", "whisper"} <= set(complete("toolforge", "show", ""))
    assert complete("toolforge", "show", "wh") == ["whisper"]


def test_zsh_completion(lib: Path) -> None:
    script = cli_process("completion", "zsh")
    assert script.returncode == 0 and "compdef" in script.stdout
    # the protocol the script speaks, answered by toolforge itself
    env = {**python_env(), "_TOOLFORGE_COMPLETE": "complete_zsh",
           "_TYPER_COMPLETE_ARGS": "toolforge show wh", "TOOLFORGE_LIBRARY": str(lib)}
    answer = cli_process(env=env).stdout
    assert "whisper" in answer and "shout" not in answer
    if shutil.which("zsh"):
        done = subprocess.run(["zsh", "-n", "-c", script.stdout], capture_output=True,
                              text=True, timeout=60)
        assert done.returncode == 0, done.stderr  # the script parses in a real zsh


# --- exit codes scripts can trust --------------------------------------------------------------


def test_validate_reads_a_bare_name_as_a_tool_never_a_file(lib: Path, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    monkeypatch.chdir(tmp_path)
    # ./whisper is a directory holding a failing tool; the library's whisper passes.
    write_tool_dir(tmp_path, "whisper", tests=make_tests("whisper", "WRONG"))
    by_name = run_cli("validate", "whisper", "-L", lib, "--json")
    assert by_name.exit_code == 0 and by_name.json["location"] == "candidates"
    by_path = run_cli("validate", "./whisper", "-L", lib, "--json")
    assert by_path.exit_code == 1 and by_path.envelope["error"]["kind"] == "validation_failed"
    assert by_path.envelope["result"]["verdict"] == "failed"
    # a name the library lacks is an error, with a hint when a file of that name exists
    write_tool_dir(tmp_path, "lonely")
    lonely = run_cli("validate", "lonely", "-L", lib, "--json")
    assert lonely.exit_code == 1 and lonely.json["error"] == "not_found"
    assert "./lonely" in lonely.json["hint"]
    missing = run_cli("validate", "/missing.py", "-L", lib, "--json")
    assert missing.exit_code == 1 and "no such file" in missing.json["message"]


def test_run_stops_with_exit_1_when_the_model_is_unreachable(
    lib: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    user_config = tmp_path / "config.toml"  # models are the user's: no retries, please
    user_config.write_text("[llm]\nmax_retries = 0\ntimeout_s = 5\n")
    monkeypatch.setenv("TOOLFORGE_CONFIG", str(user_config))
    monkeypatch.setenv("TOOLFORGE_MODEL", "openai/unreachable")
    monkeypatch.setenv("TOOLFORGE_API_BASE", "http://127.0.0.1:9/v1")  # discard: refused
    monkeypatch.setenv("TOOLFORGE_API_KEY", "none")
    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text("\n".join(json.dumps({"id": f"t{i}", "task": f"say {i}", "expected": i})
                               for i in range(3)) + "\n")
    result = run_cli("run", tasks, "-L", lib, "--json")
    assert result.exit_code == 1, result.stdout
    doc = result.envelope
    assert doc["error"]["kind"] == "infrastructure"
    assert doc["result"]["not_run"] == ["t1", "t2"]  # it stopped at the first
    recorded = run_cli("trajectories", "list", "-L", lib, "--json").json["trajectories"]
    assert len(recorded) == 1 and recorded[0]["success"] is None
    assert recorded[0]["metadata"]["error_kind"] == "infrastructure"
    # not a failed task: nothing for evolution to learn from
    assert run_cli("trajectories", "list", "--failed", "-L", lib, "--json").json["count"] == 0


def test_init_from_is_idempotent_and_finishes_an_interrupted_import(tmp_path: Path) -> None:
    example = Path(__file__).resolve().parents[1] / "library"
    target = tmp_path / "lib"
    first = run_cli("init", target, "--from", example, "--json")
    assert first.exit_code == 0 and "slugify" in first.json["imported"]
    commits = git(target, "rev-list", "--count", "HEAD")
    again = run_cli("init", target, "--from", example, "--json")
    assert again.exit_code == 0 and again.json["created"] is False
    assert again.json["imported"] == [] and again.json["skipped"]
    assert git(target, "rev-list", "--count", "HEAD") == commits  # nothing new
    # a copy of the source with one tool more: only that one comes in
    src = tmp_path / "src"
    shutil.copytree(example, src)
    write_tool_dir(src / "candidates", "shout")
    third = run_cli("init", target, "--from", src, "--json")
    assert third.json["imported"] == ["shout"]


def test_a_damaged_reports_database_costs_verdicts_not_the_listing(lib: Path) -> None:
    reports = lib / ".toolforge/reports.sqlite"
    for extra in ("-wal", "-shm"):
        Path(f"{reports}{extra}").unlink(missing_ok=True)
    reports.write_bytes(b"this is not a database" * 100)
    result = run_cli("list", "-L", lib, "--json")
    assert result.exit_code == 0, result.stdout
    assert {t["tool"] for t in result.json["tools"]} == {"shout", "whisper"}
    assert any(str(reports) in w for w in result.envelope["warnings"])
    # It was moved aside (kept) and a new one started; damaged again, people see it too.
    assert [p.read_bytes() for p in lib.glob(".toolforge/reports.sqlite.corrupt-*[0-9]")] \
        == [b"this is not a database" * 100]
    reports.write_bytes(b"this is not a database either" * 100)
    text = run_cli("list", "-L", lib)
    assert text.exit_code == 0 and "warning:" in text.stderr and str(reports) in text.stderr


# --- text from tools never drives the terminal -------------------------------------------------

HOSTILE = "\x1b[2J\x1b[H\x1b]0;pwned\x07\x9b31m validation: passed\r\u202eevil"


def test_control_characters_from_tools_are_shown_escaped(lib: Path, tmp_path: Path) -> None:
    # sneaky fails: its exception message and its test's output are hostile
    code = make_tool("sneaky", body=f"raise ValueError({HOSTILE!r})", doc="Sneaky.")
    tests = ("from tool import sneaky\n\n\ndef test_it():\n"
             f"    print({HOSTILE!r})\n    assert sneaky('x') == 'x'\n")
    src = tmp_path / "src"
    write_tool_dir(src, "sneaky", code=code, tests=tests)
    # quiet passes, with raw control characters in its docstring and code: v1 and v2
    svc = LibraryService(lib)
    try:
        # Python source takes these raw in a string literal; a bidirectional control
        # character is refused in source (Trojan Source), so only the tool's output has it.
        raw = HOSTILE.replace("\r", "").replace("\u202e", "")
        quiet = make_tool("quiet", doc=f"Quiet.{raw}").replace(
            "    return", f'    note = "{raw}"\n    return')
        svc.add(quiet, make_tests("quiet"))
        svc.promote("quiet")
        svc.add(quiet.replace('note = "', 'note = "v2 '), make_tests("quiet"))
    finally:
        svc.close()
    outputs = {
        "add": run_cli("add", src / "sneaky", "-L", lib),
        "validate": run_cli("validate", "sneaky", "-L", lib),
        "list": run_cli("list", "-L", lib),
        "show": run_cli("show", "quiet", "-L", lib),
        "diff": run_cli("diff", "quiet", "-L", lib),
    }
    assert run_cli("reject", "sneaky", "--reason", f"bad {HOSTILE}", "-L", lib).exit_code == 0
    outputs["history"] = run_cli("history", "-L", lib)
    outputs["list rejected"] = run_cli("list", "--status", "rejected", "-L", lib)
    outputs["show rejected"] = run_cli("show", "sneaky", "--version", "rejected", "-L", lib)
    for name, result in outputs.items():
        shown = result.stdout + result.stderr
        assert not RAW.search(shown), (name, shown)
        assert "\\x1b" in shown, (name, shown)  # visible, escaped
    for args in (["show", "quiet"], ["list", "--status", "rejected"],
                 ["validate", str(src / "sneaky")]):
        doc = run_cli(*args, "-L", lib, "--json")
        assert not RAW.search(doc.stdout), args
        assert "\\u001b" in doc.stdout, args  # JSON escapes, the same value


# --- progress on long work ---------------------------------------------------------------------


def _stderr_on_a_terminal(*args: str | Path) -> tuple[int, str]:
    """Run the CLI with stderr on a pseudo-terminal (stdout a pipe); what the terminal got."""
    import pty

    master, slave = pty.openpty()
    proc = subprocess.Popen([PYTHON, "-m", "toolforge", *map(str, args)], stdout=subprocess.PIPE,
                            stderr=slave, env={**python_env(), "COLUMNS": "120"})
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed its end
            break
        if not data:
            break
        chunks.append(data)
    proc.communicate(timeout=120)
    os.close(master)
    return proc.returncode, b"".join(chunks).decode(errors="replace")


def test_validate_shows_each_layer_as_it_finishes(lib: Path) -> None:
    code, shown = _stderr_on_a_terminal("validate", "whisper", "-L", lib)
    assert code == 0, shown
    for layer in ("contract: passed", "static: passed", "tests: passed", "property: passed"):
        assert layer in shown, shown
    assert "validating whisper" in shown


def test_init_from_shows_a_bar(tmp_path: Path) -> None:
    example = Path(__file__).resolve().parents[1] / "library"
    code, shown = _stderr_on_a_terminal("init", tmp_path / "lib", "--from", example)
    assert code == 0, shown
    assert "importing tools" in shown and re.search(r"\d+/\d+", shown), shown
