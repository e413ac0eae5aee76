"""Damaged, locked, read-only and full state: every state database under `.toolforge/`
is moved aside when damaged (nothing in it deleted), a lock is a clear error after a
bounded wait, a read-only library can be read, and a full disk is named. Through the CLI,
on real files, with real processes holding real locks."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from conftest import (
    EXAMPLE_LIBRARY,
    PYTHON,
    copy_library,
    git,
    python_env,
    run_cli,
    template_env,
)
from test_trajectory_cli import RUNS, write_jsonl

pytestmark = pytest.mark.timeout(300)

STATE = ".toolforge"
DBS = ("reports.sqlite", "jobs.sqlite", "usage.sqlite", "state.sqlite")


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example library with every state database written once."""
    path = tmp_path_factory.mktemp("template") / "lib"
    with template_env(tmp_path_factory):
        assert run_cli("init", path, "--from", EXAMPLE_LIBRARY).exit_code == 0
        assert run_cli("call", "sha256_hex", "-a", "text=x", "-L", path).exit_code == 0
        runs = write_jsonl(tmp_path_factory.mktemp("runs") / "runs.jsonl", RUNS)
        assert run_cli("report", runs, "-L", path).exit_code == 0
    jobs = sqlite3.connect(path / STATE / "jobs.sqlite")
    jobs.execute("CREATE TABLE IF NOT EXISTS jobs (id INTEGER PRIMARY KEY, kind TEXT NOT NULL,"
                 " tool TEXT, state TEXT NOT NULL, params TEXT NOT NULL DEFAULT '{}',"
                 " created_at TEXT NOT NULL, started_at TEXT, finished_at TEXT, result TEXT,"
                 " error TEXT, error_kind TEXT, error_hint TEXT, log TEXT NOT NULL DEFAULT '')")
    jobs.commit()
    jobs.close()
    for name in DBS:
        assert (path / STATE / name).is_file(), name
    return path


@pytest.fixture
def lib(template: Path, tmp_path: Path) -> Path:
    return copy_library(template, tmp_path)


def _damage(path: Path, how: str) -> bytes:
    data = path.read_bytes()
    for side in ("-wal", "-shm"):
        path.with_name(path.name + side).unlink(missing_ok=True)
    if how == "garbage":
        damaged = os.urandom(9000)
    elif how == "truncated":
        damaged = data[:len(data) // 2 if len(data) > 8192 else 1500]
    else:  # zeroed pages after the header: a "malformed" image
        damaged = data[:100] + b"\0" * (len(data) - 100)
    path.write_bytes(damaged)
    return damaged


def _moved(lib: Path, name: str) -> list[Path]:
    return sorted(p for p in (lib / STATE).glob(f"{name}.corrupt-*")
                  if not p.name.endswith(("-wal", "-shm", "-journal")))


# Per database: a command that reads it, and one that writes it.
READ = {"reports.sqlite": ("list",), "jobs.sqlite": ("jobs",), "usage.sqlite": ("usage",),
        "state.sqlite": ("trajectories", "list")}


def _write(db: str, lib: Path, tmp_path: Path) -> tuple[str, ...]:
    if db == "reports.sqlite":
        return ("validate", "slugify")
    if db == "usage.sqlite":
        return ("call", "sha256_hex", "-a", "text=again")
    if db == "state.sqlite":
        return ("report", str(write_jsonl(tmp_path / "more.jsonl", [{"task": "again"}])))
    return ("jobs",)  # only the daemon writes jobs (test_damaged_jobs_db_under_the_daemon)


@pytest.mark.parametrize("how", ["garbage", "truncated", "zeroed"])
@pytest.mark.parametrize("db", DBS)
def test_a_damaged_state_db_is_moved_aside_and_rebuilt(lib: Path, tmp_path: Path, db: str,
                                                       how: str) -> None:
    path = lib / STATE / db
    head = git(lib, "rev-parse", "HEAD")
    damaged = _damage(path, how)
    read = run_cli(*READ[db], "-L", lib, "--json")
    assert read.exit_code == 0, read.stdout + read.stderr
    moved = _moved(lib, db)
    assert [p.read_bytes() for p in moved] == [damaged]  # kept for a person, byte for byte
    warnings = " ".join(read.envelope["warnings"])
    assert str(path) in warnings and str(moved[0]) in warnings
    # The next write starts a new, working database; the old one stays where it was put.
    wrote = run_cli(*_write(db, lib, tmp_path), "-L", lib, "--json")
    assert wrote.exit_code == 0, wrote.stdout + wrote.stderr
    assert run_cli(*READ[db], "-L", lib).exit_code == 0
    assert _moved(lib, db) == moved
    assert git(lib, "rev-parse", "HEAD") == head or db == "reports.sqlite"
    if db == "usage.sqlite":
        usage = run_cli("usage", "-L", lib, "--json").json
        assert [t["calls"] for t in usage["tools"]] == [1]
    if db == "state.sqlite":
        runs = run_cli("trajectories", "list", "-L", lib, "--json").json
        assert [t["task"] for t in runs["trajectories"]] == ["again"]


def test_a_damaged_reports_db_costs_no_verdict_the_notes_keep(lib: Path) -> None:
    """Reports also travel as git notes: after the cache is moved aside, the candidate's
    verdict comes back from them, and the tools are all listed."""
    _damage(lib / STATE / "reports.sqlite", "garbage")
    listing = run_cli("list", "-L", lib, "--json").json
    by_name = {t["tool"]: t for t in listing["tools"]}
    assert set(by_name) == {"convert_units", "iso8601_duration_seconds", "sha256_hex",
                            "slugify"}
    assert by_name["slugify"]["verdict"] == "passed"
    assert run_cli("promote", "slugify", "-L", lib).exit_code == 0


def test_damaged_jobs_db_under_the_daemon(lib: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A garbage jobs.sqlite broke every daemon-mode command; now the daemon moves it
    aside at start and serves."""
    from test_daemon_process import kill_all

    monkeypatch.delenv("TOOLFORGE_NO_DAEMON", raising=False)
    damaged = _damage(lib / STATE / "jobs.sqlite", "garbage")
    env = dict(os.environ)
    try:
        for args in (["list", "--json"], ["jobs", "--json"]):
            done = subprocess.run([PYTHON, "-m", "toolforge", *args, "-L", str(lib)], env=env,
                                  capture_output=True, text=True, timeout=120)
            assert done.returncode == 0, done.stdout + done.stderr
        assert [p.read_bytes() for p in _moved(lib, "jobs.sqlite")] == [damaged]
        assert "was damaged: moved it to" in (lib / STATE / "daemon.log").read_text()
        # The daemon said so only in its log: doctor keeps saying it to a person.
        doctor = run_cli("doctor", "--offline", "-L", lib, "--json")
        check = {c["id"]: c for c in doctor.json["checks"]}["state"]
        assert check["status"] == "warn", check
        assert check["details"]["moved_aside"] == [str(p) for p in _moved(lib, "jobs.sqlite")]
    finally:
        kill_all(Path(os.environ["XDG_RUNTIME_DIR"]) / "toolforge", lib.parent)


def test_state_db_damaged_while_the_daemon_runs(lib: Path, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """The daemon made sure of its tables at start; a state.sqlite damaged (and moved
    aside) while it runs must not leave it failing every query with "no such table"."""
    from test_daemon_process import kill_all

    monkeypatch.delenv("TOOLFORGE_NO_DAEMON", raising=False)

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([PYTHON, "-m", "toolforge", *args, "-L", str(lib)],
                              env=dict(os.environ), capture_output=True, text=True,
                              timeout=120)

    try:
        first = write_jsonl(tmp_path / "first.jsonl", [{"task": "before", "id": "r-before"}])
        assert cli("report", str(first), "--json").returncode == 0
        assert cli("daemon", "status", "--json").returncode == 0
        damaged = _damage(lib / STATE / "state.sqlite", "garbage")
        later = write_jsonl(tmp_path / "later.jsonl", [{"task": "after", "id": "r-after"}])
        done = cli("report", str(later), "--json")
        assert done.returncode == 0, done.stdout + done.stderr
        listed = cli("trajectories", "list", "--json")
        assert listed.returncode == 0, listed.stdout + listed.stderr
        assert "r-after" in listed.stdout and "r-before" not in listed.stdout
        assert [p.read_bytes() for p in _moved(lib, "state.sqlite")] == [damaged]
    finally:
        kill_all(Path(os.environ["XDG_RUNTIME_DIR"]) / "toolforge", lib.parent)


@pytest.mark.parametrize("how", ["garbage", "truncated", "deleted"])
def test_a_long_lived_store_survives_its_file_being_replaced(tmp_path: Path, how: str
                                                           ) -> None:
    """A store held open for hours (the daemon's, an evolution worker's) made sure of its
    tables once; after its file is moved aside and started afresh, it makes them again
    instead of failing every call with "no such table"."""
    from toolforge.evolve.trajectories import Trajectory, TrajectoryStore
    from toolforge.evolve.triggers import CycleLog

    db = tmp_path / STATE / "state.sqlite"
    store = TrajectoryStore(db)
    cycles = CycleLog(store)
    store.record(Trajectory(id="r-before", task="before", reward=0.0))
    if how == "deleted":
        db.unlink()
    else:
        _damage(db, how)
    store.record(Trajectory(id="r-after", task="after", reward=0.0))
    assert [t.id for t in store.iter()] == ["r-after"]
    assert cycles.recent() == []


# --- locks -----------------------------------------------------------------------------------

HOLD = """
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("PRAGMA locking_mode=EXCLUSIVE")
db.execute("BEGIN EXCLUSIVE")
db.execute("CREATE TABLE IF NOT EXISTS held_by_test (x)")
print("held", flush=True)
sys.stdin.read()
"""


@contextmanager
def _held(path: Path) -> Iterator[None]:
    """Another process holds an exclusive lock on `path` until the block ends."""
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(path)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
        yield
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(timeout=60)


def _cli(lib: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PYTHON, "-m", "toolforge", *args, "-L", str(lib), "--json"],
                          env=python_env(), capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("db,args", [("state.sqlite", ("trajectories", "list")),
                                     ("usage.sqlite", ("usage",)),
                                     ("jobs.sqlite", ("jobs",))])
def test_a_locked_state_db_is_a_clear_error(lib: Path, db: str, args: tuple[str, ...]
                                            ) -> None:
    with _held(lib / STATE / db):
        done = _cli(lib, *args)
    assert done.returncode == 1, done.stdout + done.stderr
    error = json.loads(done.stdout)["error"]
    assert error["kind"] == "locked"
    assert error["message"] == f"state database {lib / STATE / db} is locked by another process"
    assert _cli(lib, *args).returncode == 0  # and nothing was harmed
    assert not _moved(lib, db)


def test_a_locked_reports_db_still_lists(lib: Path) -> None:
    with _held(lib / STATE / "reports.sqlite"):
        done = _cli(lib, "list")
    assert done.returncode == 0, done.stdout + done.stderr
    doc = json.loads(done.stdout)
    assert len(doc["result"]["tools"]) == 4
    assert any("is locked by another process" in w for w in doc["result"]["warnings"])


# --- a read-only library ---------------------------------------------------------------------


@contextmanager
def _read_only(path: Path) -> Iterator[Path]:
    """`path` seen through a read-only bind mount (as root), else with its modes cleared."""
    if os.geteuid() == 0:
        view = path.parent / (path.name + "-ro")
        view.mkdir()
        if subprocess.run(["mount", "--bind", "-o", "ro", str(path), str(view)],
                          capture_output=True).returncode != 0:
            pytest.skip("cannot bind-mount here")
        subprocess.run(["mount", "-o", "remount,ro,bind", str(view)], capture_output=True)
        try:
            if os.access(view, os.W_OK):
                pytest.skip("the bind mount is not read-only")
            yield view
        finally:
            subprocess.run(["umount", "-l", str(view)], check=True)
        return
    subprocess.run(["chmod", "-R", "a-w", str(path)], check=True)
    try:
        yield path
    finally:
        subprocess.run(["chmod", "-R", "u+w", str(path)], check=True)


@pytest.mark.parametrize("fresh", [False, True])
def test_a_read_only_library_can_be_read(lib: Path, tmp_path: Path, fresh: bool) -> None:
    if fresh:  # only what `init --from` leaves: no usage, trajectories or jobs yet
        lib = tmp_path / "fresh"
        assert run_cli("init", lib, "--from", EXAMPLE_LIBRARY).exit_code == 0
    head = git(lib, "rev-parse", "HEAD")
    before = sorted(p.name for p in (lib / STATE).iterdir())
    with _read_only(lib) as ro:
        listing = run_cli("list", "--status", "all", "-L", ro, "--json")
        assert listing.exit_code == 0, listing.stdout
        verdicts = {t["tool"]: t["verdict"] for t in listing.json["tools"]}
        assert verdicts["slugify"] == "passed" and len(verdicts) == 4
        for args in (("show", "slugify"), ("show", "sha256_hex", "--version", "1"),
                     ("export",), ("history", "sha256_hex"), ("usage",), ("jobs",),
                     ("trajectories", "list"), ("cycles",),
                     ("call", "sha256_hex", "-a", "text=x")):
            done = run_cli(*args, "-L", ro, "--json")
            assert done.exit_code == 0, (args, done.stdout, done.stderr)
        for args in (("retire", "sha256_hex"), ("validate", "slugify")):
            refused = run_cli(*args, "-L", ro, "--json")
            assert refused.exit_code == 1, (args, refused.stdout)
            assert refused.json["error"] == "read_only", refused.json
            assert "read-only" in refused.json["message"].lower()
    assert git(lib, "rev-parse", "HEAD") == head
    assert sorted(p.name for p in (lib / STATE).iterdir()) == before


# --- a full disk -----------------------------------------------------------------------------


@contextmanager
def _small_disk(base: Path) -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mnt = base / "small"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mnt)],
                      capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=True)


def _fill(disk: Path) -> None:
    with (disk / "filler").open("wb") as fh:
        try:
            while True:
                fh.write(b"\0" * 65536)
        except OSError:
            pass
        try:
            fh.flush()
        except OSError:
            pass


def test_a_full_disk_is_named(lib: Path, tmp_path: Path) -> None:
    with _small_disk(tmp_path) as disk:
        small = disk / "lib"
        shutil.copytree(lib, small, symlinks=True)
        head = git(small, "rev-parse", "HEAD")
        _fill(disk)
        assert run_cli("list", "-L", small).exit_code == 0
        for args in (("promote", "slugify"), ("retire", "sha256_hex"),
                     ("validate", "slugify"),
                     ("report", str(write_jsonl(tmp_path / "r.jsonl", [{"task": "t"}])))):
            done = run_cli(*args, "-L", small, "--json")
            assert done.exit_code == 1, (args, done.stdout, done.stderr)
            assert done.json["error"] == "no_space", (args, done.json)
            assert done.json["message"].startswith("no space left on "), done.json
            assert str(small) in done.json["message"], done.json
        assert git(small, "rev-parse", "HEAD") == head
        assert git(small, "--no-optional-locks", "status", "--porcelain") == ""
        (disk / "filler").unlink()
        assert run_cli("promote", "slugify", "-L", small).exit_code == 0


async def test_a_full_disk_is_named_by_the_daemon_too(lib: Path, tmp_path: Path) -> None:
    """The daemon maps the same OS errors as the CLI: 507 no_space with a JSON body, not a
    500 'internal' that the CLI would report as a bug."""
    import httpx

    from toolforge.daemon.app import create_app
    from toolforge.daemon.context import build_context

    with _small_disk(tmp_path) as disk:
        small = disk / "lib"
        shutil.copytree(lib, small, symlinks=True)
        head = git(small, "rev-parse", "HEAD")
        app = create_app(build_context(small, watch=False, persist_jobs=False,
                                       evolution=False))
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://tf") as client:
                _fill(disk)
                resp = await client.post("/v1/tools/sha256_hex/retire", json={})
                assert resp.status_code == 507, resp.text
                doc = resp.json()
                assert doc["error"] == "no_space" and str(small) in doc["message"], doc
                assert (await client.get("/v1/tools")).status_code == 200
        assert git(small, "rev-parse", "HEAD") == head
