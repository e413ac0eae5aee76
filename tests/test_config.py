"""Settings are read strictly, a broken one commits nothing, every key is documented, and
commands find their library (and say what to do when there is none) from where they run."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from conftest import REPO_ROOT, git, make_tool, run_cli, write_tool_dir
from toolforge.config.user import UserConfig
from toolforge.library.settings import LibrarySettings
from toolforge.llm.config import ROLES, _Tunables

DOCS = (REPO_ROOT / "docs/config.md").read_text()


def _user_config(tmp_path: Path, text: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "user-config.toml"
    path.write_text(text)
    monkeypatch.setenv("TOOLFORGE_CONFIG", str(path))
    return path


def _commits(lib: Path) -> int:
    return int(git(lib, "rev-list", "--count", "HEAD"))


# --- strict reading -----------------------------------------------------------------------


@pytest.mark.parametrize(("text", "needles"), [
    ("capacty = 3\n", ["unknown key 'capacty'", "did you mean 'capacity'"]),
    ("[sandbox]\nmemroy_mb = 64\n", ["unknown key 'sandbox.memroy_mb'", "'memory_mb'"]),
    ('promotion = "sometimes"\n', ["promotion = 'sometimes'"]),
    ("capacity = 0\n", ["capacity = 0", "greater than or equal to 1"]),
    ('[evolve]\nmax_cycles_per_hour = "many"\n', ["evolve.max_cycles_per_hour = 'many'"]),
    ('[policy]\nallowed_imports = ["os"]\n', ["policy.allowed_imports", "cannot be allowed"]),
    ("format = 2\n", ["format = 2", "upgrade toolforge"]),
    ("[sandbox\n", ["is not valid TOML"]),
])
def test_a_broken_toolforge_toml_names_key_and_file_and_commits_nothing(
        library: Path, tmp_path: Path, text: str, needles: list[str]) -> None:
    settings = library / "toolforge.toml"
    settings.write_text(text)
    git(library, "commit", "-qam", "a broken setting")
    before = _commits(library)

    tool = write_tool_dir(tmp_path / "src", "shout")
    result = run_cli("add", tool, "-L", library, "--json")
    assert result.exit_code == 1, result.stdout
    doc = result.json
    assert doc["error"] == "config"
    assert str(settings) in doc["message"]
    for needle in needles:
        assert needle in doc["message"], doc["message"]
    assert _commits(library) == before
    assert not (library / "candidates/shout").exists()
    assert git(library, "status", "--porcelain") == ""


def test_a_broken_user_config_or_environment_commits_nothing(
        example_library: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = _commits(example_library)
    tool = write_tool_dir(tmp_path / "src", "shout")
    path = _user_config(tmp_path, "[llm]\nmodle = 'x'\n", monkeypatch)
    for command in (["add", tool], ["promote", "slugify"], ["retire", "sha256_hex"]):
        result = run_cli(*command, "-L", example_library, "--json")
        assert result.exit_code == 1, (command, result.stdout)
        assert str(path) in result.json["message"] and "llm.modle" in result.json["message"]
    path.write_text("[sandbox]\nmemory_mb = 'lots'\n")
    result = run_cli("add", tool, "-L", example_library, "--json")
    assert result.exit_code == 1 and "sandbox.memory_mb = 'lots'" in result.json["message"]

    path.write_text("")
    monkeypatch.setenv("TOOLFORGE_SANDBOX", "chroot")
    result = run_cli("add", tool, "-L", example_library, "--json")
    assert result.exit_code == 1 and "TOOLFORGE_SANDBOX='chroot'" in result.json["message"]
    assert _commits(example_library) == before
    assert git(example_library, "status", "--porcelain") == ""


def test_init_checks_the_user_config_before_creating_anything(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _user_config(tmp_path, "[polcy]\n", monkeypatch)
    result = run_cli("init", tmp_path / "lib", "--json")
    assert result.exit_code == 1 and "unknown key 'polcy'" in result.json["message"]
    assert "did you mean 'policy'" in result.json["message"]
    assert not (tmp_path / "lib").exists()


def test_a_library_rollback_can_repair_broken_settings(library: Path, tmp_path: Path) -> None:
    good = git(library, "rev-parse", "HEAD").strip()
    settings = library / "toolforge.toml"
    settings.write_text(settings.read_text().replace("capacity = 200", "capacity = -1"))
    git(library, "commit", "-qam", "oops")
    tool = write_tool_dir(tmp_path / "src", "shout")
    assert run_cli("add", tool, "-L", library, "--json").json["error"] == "config"
    result = run_cli("rollback", "--commit", good, "-L", library, "--json")
    assert result.exit_code == 0, result.stdout
    assert "capacity = 200" in settings.read_text()


def test_the_user_config_must_be_yours_and_hold_no_keys(
        library: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _user_config(tmp_path, "[llm]\nmodel = 'openai/x'\n", monkeypatch)
    path.chmod(0o666)
    result = run_cli("doctor", "--offline", "-L", library, "--json")
    settings = next(c for c in result.json["checks"] if c["id"] == "config")
    assert settings["status"] == "error" and "other users can write it" in settings["summary"]
    assert settings["fix"] == f"chmod go-w {path}"
    path.chmod(0o600)
    path.write_text("[llm]\nmodel = 'openai/x'\napi_key = 'sk-live-123'\n")
    result = run_cli("doctor", "--offline", "-L", library, "--json")
    assert "keys never live in a settings file" in result.stdout
    assert "sk-live-123" not in result.stdout

    monkeypatch.setenv("TOOLFORGE_CONFIG", str(tmp_path / "missing.toml"))
    result = run_cli("add", write_tool_dir(tmp_path / "src", "shout"), "-L", library, "--json")
    assert result.exit_code == 1 and "does not exist" in result.json["message"]


# --- the reference covers everything the code reads ---------------------------------------


def _keys(model: type, prefix: str = "") -> list[str]:
    out = []
    for name, field in model.model_fields.items():
        sub = field.annotation
        if isinstance(sub, type) and hasattr(sub, "model_fields") and name != "llm":
            out += _keys(sub, f"{prefix}{name}.")
        else:
            out.append(f"{prefix}{name}")
    return out


def test_every_settings_key_is_in_the_config_reference() -> None:
    keys = set(_keys(LibrarySettings)) | set(_keys(UserConfig))
    keys.discard("llm")
    llm = {"model", "embedding_model", "api_key_env", "roles", "api_key",
           *(f for f in _Tunables.model_fields if f != "api_key_env_missing")}
    keys |= {f"llm.{k}" for k in llm}
    missing = sorted(k for k in keys if f"`{k}`" not in DOCS)
    assert not missing, f"docs/config.md does not name: {missing}"
    assert all(role in DOCS for role in ROLES)


def test_every_environment_variable_is_in_the_config_reference() -> None:
    found: set[str] = set()
    for path in (REPO_ROOT / "src/toolforge").rglob("*.py"):
        found |= set(re.findall(r"\b(TOOLFORGE_[A-Z_]+[A-Z])\b", path.read_text()))
    assert {"TOOLFORGE_BWRAP", "TOOLFORGE_LOG_DIR", "TOOLFORGE_MODEL"} <= found
    missing = sorted(v for v in found if f"`{v}`" not in DOCS)
    assert not missing, f"docs/config.md does not name: {missing}"


# --- finding the library ------------------------------------------------------------------


def test_commands_find_the_enclosing_library_and_paths_says_how(
        library: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (library / "tools" / "deep").mkdir(parents=True)
    monkeypatch.chdir(library / "tools" / "deep")
    listing = run_cli("list", "--json")
    assert listing.exit_code == 0 and listing.json["library"] == str(library)
    paths = run_cli("paths", "--json").json
    assert paths["library"] == str(library) and paths["is_library"] is True
    assert paths["library_found_by"] == "enclosing directory"
    assert paths["paths"]["settings"]["path"] == str(library / "toolforge.toml")
    for kind in ("state_dir", "reports", "trajectories", "usage", "daemon_runtime_dir",
                 "daemon_socket", "daemon_log", "cli_log", "user_config"):
        assert paths["paths"][kind]["path"], kind
    assert paths["paths"]["user_config"]["path"].endswith("toolforge/config.toml")


def test_not_a_library_hints_lead_somewhere(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """The README's case: the example `library/` (plain files) beside a real library."""
    monkeypatch.chdir(tmp_path)
    example = tmp_path / "library"
    example.mkdir()
    (example / "toolforge.toml").write_text("format = 1\n")
    lost = run_cli("list", "--json").json
    assert "no git history" in lost["message"]
    assert f"toolforge init NEW --from {example}" in lost["hint"]
    # Following the hint works.
    created = run_cli("init", "my-library", "--from", "library", "--json")
    assert created.exit_code == 0, created.stdout
    hint = run_cli("list", "--json").json["hint"]
    assert "cd my-library" in hint and "--library my-library" in hint
    monkeypatch.chdir(tmp_path / "my-library")
    assert run_cli("list", "--json").exit_code == 0
    # A non-empty directory is never sent to `toolforge init` there.
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "a.txt").write_text("mine")
    monkeypatch.chdir(tmp_path / "notes")
    doc = run_cli("list", "-L", ".", "--json").json
    assert "toolforge init NEW" in doc["hint"] and "never takes over" in doc["hint"]
    empty = tmp_path / "empty"
    empty.mkdir()
    assert f"toolforge init {empty}" in run_cli("list", "-L", empty, "--json").json["hint"]
    assert run_cli("init", empty, "--json").exit_code == 0


def test_init_says_where_to_go_next(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = run_cli("init", "fresh")
    assert result.exit_code == 0
    assert "cd fresh" in result.stdout


def test_user_limits_and_backend_apply_to_validation(
        library: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _user_config(tmp_path, "[sandbox]\nmemory_mb = 300\nwall_time_s = 20\n", monkeypatch)
    tool = write_tool_dir(tmp_path / "src", "shout", code=make_tool("shout"))
    report = run_cli("add", tool, "-L", library, "--json").json["details"]["validation"]
    assert report["limits"]["memory_mb"] == 300 and report["limits"]["wall_time_s"] == 20
    assert os.environ["TOOLFORGE_CONFIG"].endswith("user-config.toml")
