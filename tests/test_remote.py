"""A library shared through a git remote: compare-and-swap publication, rebase and re-check,
conflicts parked (never lost), read-only sync, validation reports that travel as notes."""

from __future__ import annotations

from pathlib import Path

from conftest import git, make_tests, make_tool, run_cli, write_tool_dir
from deploy_helpers import bare_remote, clone, remote_log, shared_library


def _add(lib: Path, tmp: Path, name: str, body: str = "return text.upper()") -> None:
    src = write_tool_dir(tmp / f"src-{lib.name}", name, make_tool(name, body=body),
                         make_tests(name, "ABC" if "upper" in body else "abc"))
    result = run_cli("add", src, "-L", lib, "--json")
    assert result.exit_code == 0, result.stdout
    assert result.json["details"]["validation"]["verdict"] == "passed", result.stdout


def test_two_clones_publish_concurrent_promotions_without_losing_either(tmp_path: Path
                                                                       ) -> None:
    _, remote = shared_library(tmp_path)
    a, b = clone(remote, tmp_path / "a"), clone(remote, tmp_path / "b")
    _add(a, tmp_path, "shout")
    _add(b, tmp_path, "yell")  # B has not seen A's commit: its push is rejected, rebased
    assert run_cli("promote", "shout", "-L", a).exit_code == 0
    promoted = run_cli("promote", "yell", "-L", b, "--json")
    assert promoted.exit_code == 0, promoted.stdout
    subjects = remote_log(remote)
    assert subjects[:4] == ["promote yell v1", "promote shout v1", "add candidate yell v1",
                            "add candidate shout v1"]
    assert git(remote, "rev-list", "--merges", "main") == ""  # linear
    tags = git(remote, "tag").split()
    assert {"tool/shout/v1", "tool/yell/v1"} <= set(tags)
    # each tag names the commit that promoted it, as published
    yell = git(remote, "rev-list", "-n1", "tool/yell/v1").strip()
    assert yell == git(remote, "rev-parse", "main").strip() == promoted.json["commit"]
    assert git(b, "rev-parse", "HEAD") == git(remote, "rev-parse", "main")
    # A catches up, tags included
    assert run_cli("sync", "-L", a).exit_code == 0
    assert (a / "tools/yell/tool.py").is_file()
    assert "tool/yell/v1" in git(a, "tag").split()


def test_the_same_tool_changed_on_both_clones_is_a_conflict_and_nothing_is_lost(
        tmp_path: Path) -> None:
    _, remote = shared_library(tmp_path)
    a, b = clone(remote, tmp_path / "a"), clone(remote, tmp_path / "b")
    assert run_cli("retire", "sha256_hex", "-L", a).exit_code == 0
    result = run_cli("pin", "sha256_hex", "-L", b, "--json")
    # B's change was decided on a state the remote no longer has: refused, parked
    assert result.exit_code == 1, result.stdout
    assert result.json["error"] == "publish_conflict"
    assert "sha256_hex" in result.json["message"]
    parked = git(b, "for-each-ref", "--format=%(refname)", "refs/toolforge/unpublished")
    assert parked.strip(), "the refused commit is kept under refs/toolforge/unpublished"
    assert "pin sha256_hex" in git(b, "log", "-1", "--format=%s", parked.split()[0])
    # B now follows the remote; the remote has A's change only, linear
    assert git(b, "rev-parse", "HEAD") == git(remote, "rev-parse", "main")
    assert remote_log(remote)[0] == "retire sha256_hex v1"
    assert not any(s.startswith("pin") for s in remote_log(remote))
    assert git(remote, "rev-list", "--merges", "main") == ""
    assert "status = \"retired\"" in (b / "tools/sha256_hex/tool.toml").read_text()


def test_a_clone_sees_reports_validated_elsewhere_and_can_promote(tmp_path: Path) -> None:
    _, remote = shared_library(tmp_path)
    a, b = clone(remote, tmp_path / "a"), clone(remote, tmp_path / "b")
    _add(a, tmp_path, "shout")  # validated on A only
    assert run_cli("sync", "-L", b).exit_code == 0
    listing = run_cli("list", "--status", "candidate", "-L", b, "--json").json
    verdicts = {t["tool"]: t["verdict"] for t in listing["tools"]}
    assert verdicts["shout"] == "passed"  # the report came with the library (git notes)
    promoted = run_cli("promote", "shout", "-L", b, "--json")
    assert promoted.exit_code == 0, promoted.stdout
    assert remote_log(remote)[0] == "promote shout v1"
    # a candidate changed after validation is still refused, on any clone
    _add(b, tmp_path, "whisper", body="return text.lower()")
    (b / "candidates/whisper/tool.py").write_text(make_tool("whisper", body="return text"))
    git(b, "commit", "-qam", "hand change")
    assert run_cli("sync", "-L", b).exit_code == 0
    assert run_cli("sync", "-L", a).exit_code == 0
    refused = run_cli("promote", "whisper", "-L", a, "--json")
    assert refused.exit_code == 1 and refused.json["error"] == "validation_failed"


def test_read_only_sync_moves_forward_and_never_publishes(tmp_path: Path) -> None:
    seed, remote = shared_library(tmp_path)
    agent = clone(remote, tmp_path / "agent")
    pinned = git(agent, "rev-parse", "HEAD")
    assert run_cli("retire", "sha256_hex", "-L", seed).exit_code == 0
    assert git(agent, "rev-parse", "HEAD") == pinned  # nothing moves until it syncs
    result = run_cli("sync", "--read-only", "-L", agent, "--json")
    assert result.exit_code == 0, result.stdout
    assert result.json["pulled"] == 1 and result.json["pushed"] == 0
    assert git(agent, "rev-parse", "HEAD") == git(remote, "rev-parse", "main")
    assert git(agent, "status", "--porcelain") == ""
    # a local change is never published by a read-only sync
    git(agent, "commit", "-q", "--allow-empty", "-m", "local note")
    refused = run_cli("sync", "--read-only", "-L", agent, "--json")
    assert refused.exit_code == 1 and "read-only sync does not publish" in \
        refused.json["message"]
    assert remote_log(remote)[0] == "retire sha256_hex v1"


def test_an_unreachable_remote_keeps_the_change_and_sync_publishes_it_later(
        tmp_path: Path) -> None:
    seed, remote = shared_library(tmp_path)
    moved = tmp_path / "moved.git"
    remote.rename(moved)
    result = run_cli("retire", "sha256_hex", "-L", seed, "--json")
    assert result.exit_code == 0, result.stdout
    assert any("not published yet" in w for w in result.json["warnings"])
    down = run_cli("sync", "-L", seed, "--json")
    assert down.exit_code == 1 and down.json["error"] == "remote_unreachable"
    moved.rename(remote)
    up = run_cli("sync", "-L", seed, "--json")
    assert up.exit_code == 0 and up.json["pushed"] == 1
    assert remote_log(remote)[0] == "retire sha256_hex v1"


def test_remote_urls_that_would_run_a_command_are_refused(library: Path, tmp_path: Path
                                                          ) -> None:
    for url in ("ext::sh -c touch% /tmp/pwned", "fd::17", "--upload-pack=evil"):
        result = run_cli("remote", "add", "evil", url, "-L", library, "--json")
        assert result.exit_code == 2, (url, result.stdout)
    for name in ("-x", "a b", "../up"):
        assert run_cli("remote", "add", name, str(tmp_path), "-L", library).exit_code == 2
    assert run_cli("remote", "list", "-L", library, "--json").json == {"remotes": []}
    no_remote = run_cli("sync", "-L", library, "--json")
    assert no_remote.exit_code == 2 and "remote add" in no_remote.json["hint"]
    other = bare_remote(tmp_path / "other.git")
    assert run_cli("remote", "add", "origin", other, "-L", library).exit_code == 0
    listed = run_cli("remote", "list", "-L", library, "--json").json["remotes"]
    assert listed == [{"name": "origin", "url": str(other), "shared": True}]
    # a token in a remote's URL stays in git's config, never in what toolforge shows
    token = run_cli("remote", "add", "tok", "https://bob:s3cr3t@127.0.0.1:1/x.git", "-L",
                    library, "--json")
    assert token.exit_code == 0 and "s3cr3t" not in token.stdout
    assert token.json["url"] == "https://bob:***@127.0.0.1:1/x.git"
    assert "s3cr3t" not in run_cli("remote", "list", "-L", library, "--json").stdout
    assert "s3cr3t" in git(library, "remote", "get-url", "tok")
    assert run_cli("remote", "remove", "tok", "-L", library).exit_code == 0
    # a bare token as the user name (how hosts take personal access tokens)
    bare = run_cli("remote", "add", "tok", "https://ghp_s3cr3t@127.0.0.1:1/x.git", "-L",
                   library, "--json")
    assert bare.exit_code == 0 and bare.json["url"] == "https://***@127.0.0.1:1/x.git"
    assert run_cli("remote", "remove", "tok", "-L", library).exit_code == 0
    assert run_cli("remote", "add", "origin", other, "-L", library).exit_code == 1  # exists
    # one shared remote: a second one takes its place, and says so
    mirror = run_cli("remote", "add", "mirror", bare_remote(tmp_path / "m.git"), "-L",
                     library, "--json")
    assert mirror.exit_code == 0 and mirror.json["shared"] is True
    assert mirror.envelope["warnings"] == [
        "origin is no longer the shared remote: changes are published to mirror only"]


def test_the_readme_sharing_walkthrough_runs_as_written(tmp_path: Path) -> None:
    from test_readme_walkthrough import _block, _run, _workspace

    script = _block("## Always on: many agents, many machines")
    assert "toolforge remote add origin" in script
    done = _run(script, _workspace(tmp_path, "library"))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    remote = tmp_path / "shared.git"
    assert remote_log(remote)[0] == "promote slugify v1"  # promoted on the other clone
    assert (tmp_path / "team-library/tools/slugify/tool.py").is_file()


def test_a_committed_forged_state_file_never_makes_a_candidate_promotable(tmp_path: Path
                                                                          ) -> None:
    """Whoever may push can vouch with notes (docs/deploy.md), but never by committing the
    local state: a `.toolforge/reports.sqlite` saying "passed" is refused by sync and by a
    fresh clone, and the candidate stays unvalidated."""
    _, remote = shared_library(tmp_path)
    elsewhere = tmp_path / "elsewhere"  # not shared: its reports go nowhere by themselves
    assert run_cli("init", elsewhere).exit_code == 0
    _add(elsewhere, tmp_path, "shout")  # a real "passed" report of exactly these files
    forger, b = clone(remote, tmp_path / "forger"), clone(remote, tmp_path / "b")
    src = tmp_path / "src-elsewhere" / "shout"
    assert run_cli("add", src, "--no-validate", "-L", forger).exit_code == 0
    with (forger / "candidates/shout/tool.toml").open("a") as meta:  # a committed claim
        meta.write('\n[validation]\nverdict = "passed"\nbackend = "bwrap"\nisolated = true\n')
    git(forger, "commit", "-qam", "validated, says its tool.toml")
    git(forger, "push", "-q", "origin", "main")
    assert run_cli("sync", "-L", b).exit_code == 0
    shown = run_cli("show", "shout", "-L", b, "--json").json
    assert shown["meta"]["validation"]["verdict"] == "passed"  # shown as written ...
    rows = run_cli("list", "--status", "candidate", "-L", b, "--json").json["tools"]
    assert {t["tool"]: t["verdict"] for t in rows}["shout"] is None  # ... never believed
    head = git(b, "rev-parse", "HEAD")
    forged = forger / ".toolforge/reports.sqlite"
    forged.parent.mkdir(exist_ok=True)
    forged.write_bytes((elsewhere / ".toolforge/reports.sqlite").read_bytes())
    git(forger, "add", "-f", ".toolforge/reports.sqlite")
    git(forger, "commit", "-qm", "validated, trust me")
    git(forger, "push", "-q", "origin", "main")

    synced = run_cli("sync", "-L", b, "--json")
    assert synced.exit_code == 1 and synced.json["error"] == "state_in_tree", synced.stdout
    assert git(b, "rev-parse", "HEAD") == head  # it did not move there
    refused = run_cli("promote", "shout", "-L", b, "--json")
    assert refused.exit_code == 1 and "not been validated" in refused.json["message"]
    rows = run_cli("list", "--status", "candidate", "-L", b, "--json").json["tools"]
    assert {t["tool"]: t["verdict"] for t in rows}["shout"] is None

    fresh = tmp_path / "fresh"  # git itself writes the forged file into a new clone
    git(tmp_path, "clone", "-q", "-b", "main", str(remote), str(fresh))
    for args in (("promote", "shout"), ("list",)):
        result = run_cli(*args, "-L", fresh, "--json")
        assert result.exit_code == 1 and result.json["error"] == "state_in_tree", result.stdout
    assert "git rm -r" in result.json["hint"]
