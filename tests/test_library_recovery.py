"""Recovery can't be locked out, and the journal is checked, not trusted (issue 10, 1-2).

Commands are killed at every step in turn (TOOLFORGE_TEST_KILL_AT, library/crashpoints.py)
as real subprocesses; what follows must work and leave the old state or the new one.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import PYTHON, git, make_tool, python_env, run_cli, write_tool_dir
from library_checks import assert_library_valid

MAX_STEPS = 200  # far more than any change here has: the loop ends when one completes


def _run_killed(library: Path, kill_at: int, *args: str | Path) -> int:
    """Run a CLI command in its own process, killed at its `kill_at`-th step; its code."""
    env = python_env()
    env["TOOLFORGE_TEST_KILL_AT"] = str(kill_at)
    proc = subprocess.run([PYTHON, "-m", "toolforge", *map(str, args), "-L", str(library),
                           "--json"], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode in (0, -9), proc.stdout + proc.stderr  # done, or killed
    return proc.returncode


def _cli(library: Path, *args: str | Path) -> tuple[int, dict, str]:
    """A CLI command in its own process, as a person runs it: (exit code, --json result,
    what it said: stderr and the envelope's warnings, where the library's recovery
    reports)."""
    proc = subprocess.run([PYTHON, "-m", "toolforge", *map(str, args), "-L", str(library),
                           "--json"], env=python_env(), capture_output=True, text=True,
                          timeout=120)
    envelope = json.loads(proc.stdout)
    said = "\n".join([proc.stderr, *(envelope.get("warnings") or [])])
    return proc.returncode, envelope.get("result") or {}, said


def _tree(library: Path, rev: str = "HEAD") -> str:
    return git(library, "rev-parse", f"{rev}^{{tree}}").strip()


def _head(library: Path) -> str:
    return git(library, "rev-parse", "HEAD").strip()


def _promote(library: Path, tmp_path: Path, name: str, revision: int) -> None:
    d = write_tool_dir(tmp_path / f"{name}-{revision}", name,
                       code=make_tool(name, f"return text.upper()  # revision {revision}"))
    assert run_cli("add", d, "-L", library).exit_code == 0
    assert run_cli("promote", name, "-L", library).exit_code == 0


def _add(library: Path, tmp_path: Path, name: str, salt: str) -> None:
    src = tmp_path / f"{name}-{salt}.py"
    src.write_text(make_tool(name, f"return text.lower()  # {salt}"))
    result = run_cli("add", src, "--name", name, "--no-validate", "-L", library, "--json")
    assert result.exit_code == 0, result.stdout


def _commit_by_hand(library: Path, message: str, *paths: str) -> None:
    git(library, "add", "--", *paths)
    git(library, "commit", "-q", "-m", message, "--", *paths)


def _two_states(library: Path, tmp_path: Path) -> tuple[str, str]:
    """A library whose old state (returned first) differs from HEAD in toolforge.toml, an
    active tool, a candidate and a retired one."""
    _promote(library, tmp_path, "shout", 1)
    _add(library, tmp_path, "draft", "old")
    old = _head(library)
    _promote(library, tmp_path, "whisper", 1)
    assert run_cli("reject", "draft", "--reason", "no", "-L", library).exit_code == 0
    assert run_cli("retire", "shout", "-L", library).exit_code == 0
    settings = library / "toolforge.toml"
    settings.write_text(settings.read_text().replace("capacity = 200", "capacity = 150"))
    _commit_by_hand(library, "lower the capacity", "toolforge.toml")
    return old, _head(library)


def _listed(library: Path) -> set[tuple[str, str]]:
    result = run_cli("list", "-L", library, "--json")
    assert result.exit_code == 0, result.stdout + result.stderr
    return {(t["tool"], t["status"]) for t in result.json["tools"]}


COMMANDS = ("list", "show", "init", "rollback")


def _command(name: str, library: Path, back_to: str) -> None:
    """One of the commands that must work right after a kill (the first one recovers)."""
    if name == "list":
        _listed(library)
        return
    if name == "show":
        result = run_cli("show", "shout", "-L", library, "--json")
    elif name == "init":
        result = run_cli("init", library, "--json")
        assert result.exit_code == 0 and result.json["created"] is False, result.stdout
        return
    else:
        result = run_cli("rollback", "--commit", back_to, "-L", library, "--json")
        if result.exit_code == 1 and result.json["error"] == "conflict":
            return  # already there
    assert result.exit_code == 0, result.stdout + result.stderr


def test_library_rollback_killed_at_every_step(library: Path, tmp_path: Path) -> None:
    old, new = _two_states(library, tmp_path)
    template = tmp_path / "template"
    shutil.copytree(library, template, symlinks=True)
    old_tree, new_tree = _tree(library, old), _tree(library, new)
    outcomes = set()
    for step in range(1, MAX_STEPS):
        lib = tmp_path / f"k{step}"
        shutil.copytree(template, lib, symlinks=True)
        code = _run_killed(lib, step, "rollback", "--commit", old)
        # Never a state in which the library looks like anything but a library.
        assert (lib / "toolforge.toml").is_file(), step
        order = COMMANDS[step % 4:] + COMMANDS[:step % 4]
        _command(order[0], lib, new)  # recovers
        if order[0] != "rollback":
            head = _head(lib)
            if head == new:
                outcomes.add("old")  # not landed: the library is as before the rollback
            else:
                assert git(lib, "rev-parse", "HEAD^").strip() == new, step
                assert _tree(lib) == old_tree, step
                outcomes.add("new")
            assert git(lib, "status", "--porcelain", "--untracked-files=all") == "", step
        for name in order[1:]:
            _command(name, lib, new)
        assert_library_valid(lib)
        shutil.rmtree(lib)
        if code == 0:
            break
    else:
        pytest.fail("the rollback never completed")
    assert step > 10, "the rollback had fewer steps than it should"
    assert outcomes == {"old", "new"}, outcomes
    # The last run was not killed: it restored the old state as a new commit.
    assert new_tree != old_tree


def test_tool_rollback_killed_at_every_step(library: Path, tmp_path: Path) -> None:
    _promote(library, tmp_path, "shout", 1)
    _promote(library, tmp_path, "shout", 2)
    template = tmp_path / "template"
    shutil.copytree(library, template, symlinks=True)
    new = _head(library)
    for step in range(1, MAX_STEPS):
        lib = tmp_path / f"k{step}"
        shutil.copytree(template, lib, symlinks=True)
        code = _run_killed(lib, step, "rollback", "shout")
        shown = run_cli("show", "shout", "-L", lib, "--json")
        assert shown.exit_code == 0, shown.stdout
        version = shown.json["version"]
        if _head(lib) == new:
            assert version == 2 and "revision 2" in shown.json["code"], step
        else:  # restored v1 as v3, with its tag
            assert version == 3 and "revision 1" in shown.json["code"], step
            assert "tool/shout/v3" in git(lib, "tag").split(), step
        assert_library_valid(lib)
        shutil.rmtree(lib)
        if code == 0:
            break
    else:
        pytest.fail("the rollback never completed")


def _kill_mid_add(library: Path, tmp_path: Path, name: str, salt: str) -> None:
    """Kill an `add` at the first step where a file of the candidate is written and the
    next one is half-written (a .tmp beside it): the journal is there."""
    src = tmp_path / f"{name}-{salt}.py"
    src.write_text(make_tool(name, f"return text[::-1]  # {salt}"))
    template = tmp_path / f"before-{salt}"
    shutil.copytree(library, template, symlinks=True)
    for step in range(1, MAX_STEPS):
        code = _run_killed(library, step, "add", src, "--name", name, "--no-validate")
        assert code == -9, "the add was never caught with a half-written candidate"
        # (a new candidate is built in a directory beside its name, then renamed)
        top = library / "candidates"
        written = [p for p in top.rglob("tool.py") if p.read_text() == src.read_text()]
        tmps = [p for p in top.rglob("*.tmp") if p.is_file()]
        if (library / ".toolforge/journal.json").exists() and written and tmps:
            return
        shutil.rmtree(library)
        shutil.copytree(template, library, symlinks=True)
    pytest.fail("no step left a half-written candidate")


def _leftover_tmp(library: Path) -> list[Path]:
    return [p for p in library.rglob("*.tmp") if ".git" not in p.parts]


@pytest.mark.parametrize(("damage", "name"), [
    ("truncated", "alpha"), ("checksum", "alpha"), ("garbage", "alpha"), ("truncated", "beta")])
def test_torn_journal_is_reported_and_leaves_a_clean_tree(
        library: Path, tmp_path: Path, damage: str, name: str) -> None:
    """`alpha` is updated in place (half-applied: its tool.py new, its tool.toml old with a
    .tmp beside it); `beta` is new (half-built beside its name)."""
    _add(library, tmp_path, "alpha", "one")
    committed = (library / "candidates/alpha/tool.py").read_text()
    head = _head(library)
    _kill_mid_add(library, tmp_path, name, "half")
    journal = library / ".toolforge/journal.json"
    text = journal.read_text()
    if damage == "truncated":
        journal.write_text(text[: len(text) // 2])
    elif damage == "checksum":  # a well-formed journal whose content was changed
        doc = json.loads(text)
        entry = json.loads(doc["entry"])
        entry["paths"] = ["candidates/other"]
        doc["entry"] = json.dumps(entry)
        journal.write_text(json.dumps(doc))
    else:
        journal.write_bytes(b"\x00\xff garbage")
    code, listing, stderr = _cli(library, "list")
    assert code == 0, stderr
    assert "journal was torn" in stderr, stderr
    assert _head(library) == head
    assert git(library, "status", "--porcelain", "--untracked-files=all") == ""
    assert git(library, "diff", "--cached", "--name-only") == ""
    assert not _leftover_tmp(library)
    assert {t["tool"] for t in listing["tools"]} == {"alpha"}
    assert (library / "candidates/alpha/tool.py").read_text() == committed
    assert not journal.exists()
    kept = list((library / ".toolforge").glob("journal.torn-*.json"))
    assert len(kept) == 1 and kept[0].read_bytes() != b""
    if name == "alpha":  # nothing is lost: the half-applied files were copied aside
        saved = list((library / ".toolforge/recovered").rglob("candidates/alpha/tool.py"))
        assert saved and str(saved[0].parents[2]) in stderr
        assert "half" in saved[0].read_text()
    _add(library, tmp_path, name, "again")  # no "hand edits" left in the way
    assert_library_valid(library)
    # ... and still reported later, whoever recovered (a daemon logs to its own file).
    doctor = run_cli("doctor", "--offline", "-L", library, "--json")
    check = {c["id"]: c for c in doctor.json["checks"]}["recovery"]
    assert check["status"] == "warn" and "torn" in check["summary"], check
    assert check["details"]["set_aside"] == [str(kept[0])]


def test_stale_journal_never_reverts_what_was_committed_since(
        library: Path, tmp_path: Path) -> None:
    _add(library, tmp_path, "alpha", "one")
    _kill_mid_add(library, tmp_path, "alpha", "two")  # journal based on this HEAD
    # The person then writes the candidate their way and commits it by hand.
    mine = make_tool("alpha", "return text  # written by hand")
    (library / "candidates/alpha/tool.py").write_text(mine)
    _commit_by_hand(library, "alpha, by hand", "candidates/alpha/tool.py")
    head = _head(library)
    for command in ("list", "show"):
        args = ("list",) if command == "list" else ("show", "alpha")
        result = run_cli(*args, "-L", library, "--json")
        assert result.exit_code == 0, result.stdout
        assert _head(library) == head
        assert git(library, "diff", "--cached", "--name-only") == ""  # nothing staged
        assert git(library, "diff", "--name-only") == ""  # nothing reverted
        assert (library / "candidates/alpha/tool.py").read_text() == mine
    assert not (library / ".toolforge/journal.json").exists()
    assert len(list((library / ".toolforge").glob("journal.stale-*.json"))) == 1
    assert not _leftover_tmp(library)
    # Reported where the person sees it (the first command recovered).
    again = run_cli("add", tmp_path / "alpha-two.py", "--name", "alpha", "--no-validate",
                    "-L", library, "--json")
    assert again.exit_code == 0, again.stdout
    assert_library_valid(library)


def test_stale_journal_is_reported(library: Path, tmp_path: Path) -> None:
    _add(library, tmp_path, "alpha", "one")
    _kill_mid_add(library, tmp_path, "alpha", "two")
    git(library, "add", "-A", "--", "candidates")
    git(library, "commit", "-q", "-m", "keep whatever is there")
    code, _, stderr = _cli(library, "list")
    assert code == 0
    assert "stale journal" in stderr and "nothing was restored" in stderr, stderr


@pytest.mark.parametrize("first", ["init", "list", "show", "rollback"])
def test_half_restored_library_without_settings_recovers(
        library: Path, tmp_path: Path, first: str) -> None:
    """What an interrupted restore of an older toolforge left: every path deleted,
    toolforge.toml included, and the journal. Any command recovers it, init too."""
    old, new = _two_states(library, tmp_path)
    for step in range(1, MAX_STEPS):  # stop right after the journal is in place
        if _run_killed(library, step, "rollback", "--commit", old) == -9 and \
                (library / ".toolforge/journal.json").exists():
            break
        assert _head(library) == new
    doc = json.loads((library / ".toolforge/journal.json").read_text())
    for rel in json.loads(doc["entry"])["paths"]:
        target = library / rel
        if target.is_dir():
            shutil.rmtree(target)
        else:
            target.unlink(missing_ok=True)
    assert not (library / "toolforge.toml").exists()
    _command(first, library, new)
    assert (library / "toolforge.toml").is_file()
    if first != "rollback":
        assert _head(library) in (new, ) or _tree(library) == _tree(library, old)
    assert_library_valid(library)
    assert _listed(library)


def test_readers_never_see_a_tool_directory_half_written(library: Path, tmp_path: Path
                                                         ) -> None:
    """A tool directory is rewritten file by file in renames and removed in one rename:
    a reader that takes no lock sees old or new files, never a directory without its
    tool.toml (the cause of `tools/x: tool.toml is missing` under concurrent writers)."""
    _promote(library, tmp_path, "shout", 1)
    d = library / "tools/shout"
    before = {p.name: p.stat().st_ino for p in d.iterdir()}
    assert run_cli("retire", "shout", "-L", library).exit_code == 0
    assert d.is_dir()
    after = {p.name: p.stat().st_ino for p in d.iterdir()}
    assert set(after) == set(before)
    assert after["tool.toml"] != before["tool.toml"]  # replaced by a rename, not rewritten


def test_recovery_killed_at_every_step(library: Path, tmp_path: Path) -> None:
    """The recovery of a half-done rollback, itself killed at each of its steps: the
    journal stays until the recovery is whole, and the next command finishes it."""
    old, new = _two_states(library, tmp_path)
    for step in range(1, MAX_STEPS):  # a rollback killed half-way through its restore
        assert _run_killed(library, step, "rollback", "--commit", old) == -9
        settings = (library / "toolforge.toml").read_text()
        if (library / ".toolforge/journal.json").exists() and "capacity = 200" in settings:
            break
        assert _listed(library)  # recovers; try the next step
    template = tmp_path / "half"
    shutil.copytree(library, template, symlinks=True)
    for step in range(1, MAX_STEPS):
        lib = tmp_path / f"r{step}"
        shutil.copytree(template, lib, symlinks=True)
        code = _run_killed(lib, step, "list")
        assert (lib / "toolforge.toml").is_file()
        assert _listed(lib)
        assert _head(lib) == new  # the rollback had not landed: undone
        assert_library_valid(lib)
        shutil.rmtree(lib)
        if code == 0:
            break
    else:
        pytest.fail("the recovery never completed")
    assert step > 3


WRITER = """
import sys
from typer.testing import CliRunner
from toolforge.cli.app import app
runner = CliRunner()
lib, rounds, draft = sys.argv[1:4]
for i in range(int(rounds)):
    for args in (["retire", "shout"], ["rollback", "shout"],
                 ["add", draft, "--no-validate"], ["reject", "draft", "--reason", "again"]):
        result = runner.invoke(app, [*args, "-L", lib, "--json"])
        assert result.exit_code == 0, result.stdout
print("done", flush=True)
"""


def test_readers_while_a_writer_rewrites_the_tool(library: Path, tmp_path: Path) -> None:
    """`show` and `list` take no lock: while another process rewrites and restores the
    tool again and again, every read answers, with a whole version of it."""
    _promote(library, tmp_path, "shout", 1)
    draft = tmp_path / "draft.py"
    draft.write_text(make_tool("draft"))
    writer = subprocess.Popen([PYTHON, "-c", WRITER, str(library), "20", str(draft)],
                              env=python_env(), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    reads = 0
    while writer.poll() is None or reads < 10:
        shown = run_cli("show", "shout", "-L", library, "--json")
        assert shown.exit_code == 0, shown.stdout
        assert shown.json["status"] in ("active", "retired")
        candidate = run_cli("show", "draft", "-L", library, "--json")
        assert candidate.exit_code == 0 or candidate.json["error"] == "not_found", \
            candidate.stdout
        listed = run_cli("list", "-L", library, "--json")
        assert listed.exit_code == 0, listed.stdout
        rows = {t["tool"]: t["status"] for t in listed.json["tools"]}
        assert rows["shout"] in ("active", "retired")
        assert rows.get("draft", "candidate") == "candidate", rows
        reads += 1
    out, err = writer.communicate(timeout=240)
    assert writer.returncode == 0 and "done" in out, err
    assert_library_valid(library)


def test_sync_killed_at_every_step(tmp_path: Path) -> None:
    """A sync rewrites the work tree to the remote's commit: killed at any step, the
    clone opens, and is at its old commit or the remote's, with a clean tree."""
    from deploy_helpers import clone, shared_library

    _, remote = shared_library(tmp_path)
    a, b = clone(remote, tmp_path / "a"), clone(remote, tmp_path / "b")
    before = _head(b)
    tools = sorted(p.name for p in (a / "tools").iterdir() if not p.name.startswith("."))
    assert run_cli("retire", tools[0], "-L", a).exit_code == 0  # published at once
    _add(a, tmp_path, "fresh", "remote")
    after = git(remote, "rev-parse", "main").strip()
    template = tmp_path / "b-template"
    shutil.copytree(b, template, symlinks=True)
    for step in range(1, MAX_STEPS):
        lib = tmp_path / f"s{step}"
        shutil.copytree(template, lib, symlinks=True)
        code = _run_killed(lib, step, "sync")
        assert (lib / "toolforge.toml").is_file()
        listed = _listed(lib)
        assert _head(lib) in (before, after), step
        assert (("fresh", "candidate") in listed) == (_head(lib) == after), step
        assert_library_valid(lib)
        shutil.rmtree(lib)
        if code == 0:
            break
    else:
        pytest.fail("the sync never completed")
