"""Every library command through the CLI, success and failure paths, on real git repos."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import git, make_tests, make_tool, run_cli, write_tool_dir


def test_init_creates_a_git_library_and_is_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "lib"
    first = run_cli("init", path, "--json")
    assert first.exit_code == 0
    assert first.json["created"] is True
    assert (path / ".git").is_dir()
    assert (path / "toolforge.toml").is_file()
    assert ".toolforge/" in (path / ".gitignore").read_text()
    assert (path / "tools").is_dir() and (path / "candidates").is_dir()
    second = run_cli("init", path, "--json")
    assert second.exit_code == 0
    assert second.json["created"] is False
    assert git(path, "rev-list", "--count", "HEAD").strip() == "1"
    assert git(path, "status", "--porcelain") == ""


def test_init_refuses_a_non_empty_directory(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    result = run_cli("init", tmp_path, "--json")
    assert result.exit_code == 1
    assert "not empty" in result.json["message"]
    assert (tmp_path / "notes.txt").read_text() == "mine"
    assert not (tmp_path / ".git").exists()


def test_init_from_example_imports_with_real_history(example_library: Path) -> None:
    listing = run_cli("list", "-L", example_library, "--json").json
    by_name = {t["tool"]: t for t in listing["tools"]}
    assert by_name["sha256_hex"]["status"] == "active"
    assert by_name["slugify"]["status"] == "candidate"
    tags = git(example_library, "tag").split()
    assert "tool/sha256_hex/v1" in tags and "tool/convert_units/v1" in tags


def test_commands_outside_a_library_explain_what_to_do(tmp_path: Path) -> None:
    result = run_cli("list", "-L", tmp_path / "nowhere", "--json")
    assert result.exit_code == 1
    assert result.json["error"] == "library"
    assert "toolforge init" in result.json["hint"]


def test_add_file_and_directory(library: Path, tmp_path: Path) -> None:
    d = write_tool_dir(tmp_path / "src", "shout")
    result = run_cli("add", d, "-L", library, "--json")
    assert result.exit_code == 0, result.stdout
    assert result.json["tool"] == "shout" and result.json["version"] == 1
    assert (library / "candidates/shout/tool.py").read_text() == make_tool("shout")
    assert (library / "candidates/shout/test_tool.py").is_file()

    single = tmp_path / "echo_text.py"
    single.write_text(make_tool("echo_text", body="return text"))
    result = run_cli("add", single, "--name", "echo_renamed", "-L", library, "--json")
    # Without tests the candidate cannot pass validation: it is added, and add says so.
    assert result.exit_code == 1, result.stdout
    assert result.envelope["error"]["kind"] == "validation_failed"
    assert result.envelope["result"]["tool"] == "echo_renamed"
    allowed = run_cli("add", single, "--name", "echo_renamed", "--allow-failed", "-L", library,
                      "--json")
    assert allowed.exit_code == 0 and allowed.json["details"]["validation"]["verdict"] == \
        "failed"
    meta = (library / "candidates/echo_renamed/tool.toml").read_text()
    assert 'entrypoint = "echo_text"' in meta
    subject = git(library, "log", "-1", "--format=%s%n%(trailers)")
    assert "update candidate echo_renamed v1" in subject
    assert "Toolforge-Action: add" in subject and "Toolforge-Tool: echo_renamed" in subject
    assert "Toolforge-Version: 1" in subject


def test_add_rejects_contract_violations_without_touching_the_library(
    library: Path, tmp_path: Path
) -> None:
    head = git(library, "rev-parse", "HEAD")
    cases = {
        "syntax.py": "def broken(:\n",
        "nothing.py": "X = 1\n",
        "two.py": make_tool("one") + "\n" + make_tool("two"),
        "untyped.py": 'def f(x):\n    """Doc."""\n    return x\n',
        "bytes_arg.py": 'def f(x: bytes) -> str:\n    """Doc."""\n    return ""\n',
        "set_return.py": 'def f(x: str) -> set[str]:\n    """Doc."""\n    return set()\n',
        "no_return_hint.py": 'def f(x: str):\n    """Doc."""\n    return x\n',
        "no_doc.py": "def f(x: str) -> str:\n    return x\n",
    }
    for filename, code in cases.items():
        path = tmp_path / filename
        path.write_text(code)
        result = run_cli("add", path, "-L", library, "--json")
        assert result.exit_code == 1, (filename, result.stdout)
        assert result.json["error"] == "tool_contract", (filename, result.json)
        assert result.json["message"], filename
    assert git(library, "rev-parse", "HEAD") == head
    assert list((library / "candidates").iterdir()) == [library / "candidates/.gitkeep"]


def test_add_missing_path_is_a_user_error(library: Path, tmp_path: Path) -> None:
    result = run_cli("add", tmp_path / "missing.py", "-L", library, "--json")
    assert result.exit_code == 1
    assert "no such file" in result.json["message"]


def test_promote_reject_retire_cycle(library: Path, tmp_path: Path) -> None:
    d = write_tool_dir(tmp_path / "src", "shout")
    assert run_cli("add", d, "-L", library).exit_code == 0
    promoted = run_cli("promote", "shout", "-L", library, "--json")
    assert promoted.exit_code == 0, promoted.stdout
    assert promoted.json["version"] == 1
    assert promoted.json["tags"] == ["tool/shout/v1"]
    assert not (library / "candidates/shout").exists()
    assert 'status = "active"' in (library / "tools/shout/tool.toml").read_text()

    again = run_cli("promote", "shout", "-L", library, "--json")
    assert again.exit_code == 1 and again.json["error"] == "conflict"
    assert "already active (v1)" in again.json["message"]
    assert run_cli("promote", "nobody", "-L", library, "--json").json["error"] == "not_found"

    write_tool_dir(tmp_path / "v2", "shout", code=make_tool("shout", "return text.upper() + '!'"),
                   tests=make_tests("shout", "ABC!"))
    # v2 breaks v1's tests: added, but add says it failed (exit 1)
    assert run_cli("add", tmp_path / "v2/shout", "-L", library).exit_code == 1
    no_reason = run_cli("reject", "shout", "-L", library)
    assert no_reason.exit_code == 2  # --reason is required: a usage error
    rejected = run_cli("reject", "shout", "--reason", "too loud", "-L", library, "--json")
    assert rejected.exit_code == 0
    assert "too loud" in rejected.json["subject"]
    assert "Toolforge-Reason: too loud" in git(library, "log", "-1", "--format=%B")
    assert not (library / "candidates/shout").exists()

    retired = run_cli("retire", "shout", "-L", library, "--json")
    assert retired.exit_code == 0
    assert run_cli("list", "--status", "retired", "-L", library, "--json").json["tools"][0][
        "tool"] == "shout"
    assert run_cli("list", "--status", "active", "-L", library, "--json").json["tools"] == []
    twice = run_cli("retire", "shout", "-L", library, "--json")
    assert twice.exit_code == 1 and "already retired" in twice.json["message"]
    bad_filter = run_cli("list", "--status", "everything", "-L", library, "--json")
    assert bad_filter.exit_code == 2


def _promote_versions(library: Path, tmp_path: Path, name: str, n: int) -> None:
    for i in range(1, n + 1):
        # Same behaviour, different code: earlier versions' tests keep passing.
        d = write_tool_dir(tmp_path / f"v{i}", name,
                           code=make_tool(name, f"return text.upper()  # revision {i}"))
        assert run_cli("add", d, "-L", library).exit_code == 0
        assert run_cli("promote", name, "-L", library).exit_code == 0


def test_show_history_and_versions(library: Path, tmp_path: Path) -> None:
    _promote_versions(library, tmp_path, "shout", 2)
    shown = run_cli("show", "shout", "-L", library, "--json")
    assert shown.exit_code == 0
    detail = shown.json
    assert detail["version"] == 2 and detail["status"] == "active"
    assert "# revision 2" in detail["code"]
    assert detail["signature"] == "shout(text: str) -> str"
    assert [v["version"] for v in detail["versions"]] == [1, 2]
    old = run_cli("show", "shout", "--version", "1", "-L", library, "--json").json
    assert old["version"] == 1 and "# revision 1" in old["code"]
    text = run_cli("show", "shout", "-L", library)
    assert text.exit_code == 0 and "shout" in text.stdout and "history" in text.stdout
    missing = run_cli("show", "shout", "--version", "9", "-L", library, "--json")
    assert missing.exit_code == 1 and missing.json["error"] == "not_found"
    unknown = run_cli("show", "nosuch", "-L", library, "--json")
    assert unknown.exit_code == 1 and "no tool named" in unknown.json["message"]

    hist = run_cli("history", "shout", "-L", library, "--json").json["entries"]
    assert [e["action"] for e in hist] == ["promote", "add", "promote", "add"]
    assert [e["version"] for e in hist] == [2, 2, 1, 1]
    whole = run_cli("history", "-L", library, "--json").json["entries"]
    assert whole[-1]["action"] == "init"
    assert run_cli("history", "-n", "2", "-L", library, "--json").json["entries"][0][
        "action"] == "promote"


def test_diff_between_versions(library: Path, tmp_path: Path) -> None:
    _promote_versions(library, tmp_path, "shout", 2)
    result = run_cli("diff", "shout", "-L", library, "--json")
    assert result.exit_code == 0
    tool_diff = next(f for f in result.json["files"] if f["path"] == "tool.py")
    assert "+    return text.upper()  # revision 2" in tool_diff["diff"]
    assert "-    return text.upper()  # revision 1" in tool_diff["diff"]
    assert result.json["a"] == "v1"
    same = run_cli("diff", "shout", "1", "1", "-L", library, "--json")
    assert same.json["files"] == []
    # a pending candidate is compared with the active version by default
    d = write_tool_dir(tmp_path / "v3", "shout", code=make_tool("shout", "return text.swapcase()"))
    run_cli("add", d, "-L", library)
    pending = run_cli("diff", "shout", "-L", library, "--json").json
    assert pending["a"].startswith("active") and pending["b"].startswith("candidate")
    bad = run_cli("diff", "shout", "x1", "-L", library, "--json")
    assert bad.exit_code == 1 and bad.json["error"] == "invalid_version"


def test_rollback_restores_as_new_commit_and_tag(library: Path, tmp_path: Path) -> None:
    _promote_versions(library, tmp_path, "shout", 3)
    before = git(library, "rev-list", "HEAD").split()
    result = run_cli("rollback", "shout", "-L", library, "--json")
    assert result.exit_code == 0, result.stdout
    assert result.json["version"] == 4 and result.json["tags"] == ["tool/shout/v4"]
    assert "to v2" in result.json["subject"]
    after = git(library, "rev-list", "HEAD").split()
    assert after[1:] == before  # one new commit on top, nothing rewritten
    assert "# revision 2" in (library / "tools/shout/tool.py").read_text()
    to_first = run_cli("rollback", "shout", "--to", "1", "-L", library, "--json")
    assert to_first.json["version"] == 5
    assert "# revision 1" in (library / "tools/shout/tool.py").read_text()
    missing = run_cli("rollback", "shout", "--to", "42", "-L", library, "--json")
    assert missing.exit_code == 1 and missing.json["error"] == "not_found"
    never = run_cli("rollback", "ghost", "-L", library, "--json")
    assert never.exit_code == 1


def test_rollback_whole_library(library: Path, tmp_path: Path) -> None:
    _promote_versions(library, tmp_path, "shout", 1)
    mark = git(library, "rev-parse", "HEAD").strip()
    _promote_versions(library, tmp_path / "b", "whisper", 1)
    assert (library / "tools/whisper").is_dir()
    count = int(git(library, "rev-list", "--count", "HEAD"))
    result = run_cli("rollback", "--commit", mark, "-L", library, "--json")
    assert result.exit_code == 0, result.stdout
    assert not (library / "tools/whisper").exists()
    assert (library / "tools/shout").is_dir()
    assert int(git(library, "rev-list", "--count", "HEAD")) == count + 1
    assert git(library, "status", "--porcelain") == ""
    # and forward again: restoring the state before the rollback brings whisper back
    back = run_cli("rollback", "--commit", "HEAD~1", "-L", library, "--json")
    assert back.exit_code == 0 and (library / "tools/whisper").is_dir()
    bogus = run_cli("rollback", "--commit", "nonsense", "-L", library, "--json")
    assert bogus.exit_code == 1 and bogus.json["error"] == "not_found"
    injected = run_cli("rollback", "--commit=--all", "-L", library, "--json")
    assert injected.exit_code != 0


def test_hand_edits_are_reported_never_committed_or_overwritten(
    library: Path, tmp_path: Path
) -> None:
    _promote_versions(library, tmp_path, "shout", 1)
    edited = library / "tools/shout/tool.py"
    edited.write_text(edited.read_text() + "\n# my local fix\n")
    head = git(library, "rev-parse", "HEAD")
    result = run_cli("retire", "shout", "-L", library, "--json")
    assert result.exit_code == 1
    assert result.json["error"] == "conflict"
    assert "tools/shout/tool.py" in result.json["message"]
    assert git(library, "rev-parse", "HEAD") == head
    assert edited.read_text().endswith("# my local fix\n")
    shown = run_cli("show", "shout", "-L", library, "--json").json
    assert shown["hand_edits"]
    # other tools are not blocked by an edit elsewhere
    _promote_versions(library, tmp_path / "o", "other", 1)
    assert edited.read_text().endswith("# my local fix\n")
    assert "tools/shout/tool.py" in git(library, "status", "--porcelain")


def test_staged_user_changes_stay_out_of_toolforge_commits(library: Path, tmp_path: Path) -> None:
    (library / "NOTES.md").write_text("mine\n")
    git(library, "add", "NOTES.md")
    _promote_versions(library, tmp_path, "shout", 1)
    committed = git(library, "log", "--name-only", "--format=")
    assert "NOTES.md" not in committed
    assert "A  NOTES.md" in git(library, "status", "--porcelain")


def test_export_openai_and_mcp_shapes(example_library: Path) -> None:
    plain = run_cli("export", "--format", "openai", "-L", example_library)
    openai = json.loads(plain.stdout)  # without --json: the definitions themselves
    enveloped = run_cli("export", "--format", "openai", "-L", example_library, "--json")
    assert enveloped.json == {"format": "openai", "tools": openai}
    names = [t["function"]["name"] for t in openai]
    assert names == ["convert_units", "iso8601_duration_seconds", "sha256_hex"]  # no candidate
    first = openai[0]
    assert first["type"] == "function"
    params = first["function"]["parameters"]
    assert params["type"] == "object"
    assert params["required"] == ["value", "from_unit", "to_unit"]
    assert params["properties"]["value"]["type"] == "number"
    assert "unit of `value`" in params["properties"]["from_unit"]["description"]
    mcp = json.loads(run_cli("export", "--format", "mcp", "-L", example_library).stdout)
    tool = mcp["tools"][2]
    assert tool["name"] == "sha256_hex"
    assert tool["inputSchema"]["properties"]["text"]["type"] == "string"
    # MCP output schemas must be objects: a str result is wrapped as {"result": ...}
    assert tool["outputSchema"]["properties"]["result"] == {"type": "string"}
    assert tool["outputSchema"]["required"] == ["result"]
    bad = run_cli("export", "--format", "yaml", "-L", example_library, "--json")
    assert bad.exit_code == 2


def test_malformed_tool_files_are_listed_with_their_problem(library: Path, tmp_path: Path) -> None:
    _promote_versions(library, tmp_path, "shout", 1)
    (library / "tools/shout/tool.toml").write_text("this is [not toml")
    listing = run_cli("list", "-L", library, "--json")
    assert listing.exit_code == 0
    row = listing.json["tools"][0]
    assert row["status"] == "broken" and "malformed" in row["problem"]
    shown = run_cli("show", "shout", "-L", library, "--json")
    assert shown.exit_code == 1 and "malformed" in shown.json["message"]


def test_internal_errors_exit_3_with_a_log(library: Path, monkeypatch, tmp_path: Path) -> None:
    from toolforge.service import library_service

    def boom(self, status="all"):  # an unexpected bug inside the service
        raise RuntimeError("kaboom")

    monkeypatch.setattr(library_service.LibraryService, "list_tools", boom)
    result = run_cli("list", "-L", library, "--json")
    assert result.exit_code == 3
    log = Path(result.json["log"])
    assert "kaboom" in log.read_text()


def test_usage_errors_exit_2(library: Path) -> None:
    assert run_cli("promote", "-L", library).exit_code == 2
    assert run_cli("no-such-command").exit_code == 2
    assert run_cli("--version").exit_code == 0
