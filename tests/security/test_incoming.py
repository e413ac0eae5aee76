"""Files coming in (issue 9, item 3): `toolforge add` reads only what it should.

A tool directory comes from someone else (a clone, a download). `add` must refuse, with a
clear error (exit 1) and without writing anything: symlinks (a test_tool.py pointing at a
credentials file would be committed), devices and FIFOs (a FIFO would block for ever),
files over the size cap (judged before reading: a 200 MB file is never read), and files
that are not UTF-8 text. The daemon refuses request bodies over its cap, with a JSON error,
before reading them. Real files, a real git library, the real CLI and a real daemon socket.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import PYTHON, git, make_tests, make_tool, python_env, run_cli
from toolforge.daemon.body_limit import MAX_BODY_BYTES
from toolforge.daemon.runtime import daemon_paths
from toolforge.library.incoming import MAX_SOURCE_BYTES

SECRET = "aws_secret_access_key = tf-incoming-canary\n"


@pytest.fixture
def tool_dir(tmp_path: Path) -> Path:
    d = tmp_path / "shout"
    d.mkdir()
    (d / "tool.py").write_text(make_tool("shout"))
    (d / "test_tool.py").write_text(make_tests("shout"))
    return d


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    path = tmp_path / "credentials"
    path.write_text(SECRET)
    return path


def add(library: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    """`toolforge add` as a user runs it (a process: a FIFO must not hang the test run)."""
    return subprocess.run([PYTHON, "-m", "toolforge", "add", *map(str, args), "-L",
                           str(library), "--no-validate"], capture_output=True, text=True,
                          env=python_env(), timeout=120)


def assert_refused(result: subprocess.CompletedProcess[str], library: Path, head: str,
                   *fragments: str) -> None:
    assert result.returncode == 1, (result.stdout, result.stderr)
    text = " ".join((result.stdout + result.stderr).split())  # the terminal wraps long paths
    assert all(f in text for f in fragments), text
    assert "Traceback" not in text
    assert git(library, "rev-parse", "HEAD") == head, "something was committed"
    assert not (library / "candidates" / "shout").exists()
    assert SECRET.strip() not in git(library, "log", "-p", "--all")


@pytest.mark.parametrize("which", ["test_tool.py", "tool.py"])
def test_a_symlinked_file_is_refused(library: Path, tool_dir: Path, secret: Path,
                                     which: str) -> None:
    target = tool_dir / which
    if which == "tool.py":
        real = tool_dir.parent / "real_tool.py"
        target.rename(real)
        target.symlink_to(real)
    else:
        target.unlink()
        target.symlink_to(secret)
    head = git(library, "rev-parse", "HEAD")
    assert_refused(add(library, tool_dir), library, head, "is a symbolic link")


def test_a_symlinked_directory_or_tests_option_is_refused(library: Path, tool_dir: Path,
                                                          secret: Path, tmp_path: Path) -> None:
    head = git(library, "rev-parse", "HEAD")
    link = tmp_path / "link"
    link.symlink_to(tool_dir)
    assert_refused(add(library, link), library, head, "is a symbolic link", "real path")
    tests_link = tmp_path / "tests_link.py"
    tests_link.symlink_to(secret)
    assert_refused(add(library, tool_dir / "tool.py", "--tests", tests_link), library, head,
                   "is a symbolic link")


def test_a_fifo_is_refused_without_blocking(library: Path, tool_dir: Path) -> None:
    (tool_dir / "test_tool.py").unlink()
    os.mkfifo(tool_dir / "test_tool.py")  # nobody ever writes to it: a read would block
    head = git(library, "rev-parse", "HEAD")
    assert_refused(add(library, tool_dir), library, head, "is a FIFO (named pipe)")


def test_a_device_is_refused(library: Path, tool_dir: Path) -> None:
    head = git(library, "rev-parse", "HEAD")
    assert_refused(add(library, tool_dir / "tool.py", "--tests", "/dev/zero"), library, head,
                   "/dev/zero is a character device")


def test_a_huge_file_is_refused_before_it_is_read(library: Path, tool_dir: Path) -> None:
    huge = tool_dir / "test_tool.py"
    with huge.open("r+b") as fh:  # 200 MB that take no disk: sparse
        fh.truncate(200 * 1024 * 1024)
    head = git(library, "rev-parse", "HEAD")
    assert_refused(add(library, tool_dir), library, head, "over the 1,048,576 byte cap",
                   "209,715,200 bytes")


def test_non_utf8_text_is_refused(library: Path, tool_dir: Path) -> None:
    (tool_dir / "test_tool.py").write_bytes(b"# caf\xe9\nfrom tool import shout\n")
    head = git(library, "rev-parse", "HEAD")
    assert_refused(add(library, tool_dir), library, head,
                   "is not UTF-8 text (byte 0xe9 at offset 5)")


def test_files_within_the_rules_are_added(library: Path, tool_dir: Path) -> None:
    result = add(library, tool_dir)
    assert result.returncode == 0, result.stderr
    assert (library / "candidates/shout/test_tool.py").read_text() == make_tests("shout")


def test_init_from_a_directory_refuses_a_symlinked_test_file(tmp_path: Path,
                                                             secret: Path) -> None:
    source = tmp_path / "source"
    (source / "tools" / "shout").mkdir(parents=True)
    (source / "toolforge.toml").write_text("")
    (source / "tools/shout/tool.py").write_text(make_tool("shout"))
    (source / "tools/shout/test_tool.py").symlink_to(secret)
    result = run_cli("init", tmp_path / "lib", "--from", source, "--json")
    assert result.exit_code == 1, result.stdout
    assert "is a symbolic link" in " ".join((result.stdout + result.stderr).split())
    if (tmp_path / "lib" / ".git").is_dir():
        assert SECRET.strip() not in git(tmp_path / "lib", "log", "-p", "--all")


# A secret that is valid settings: followed, it would be imported and committed as is.
TOML_SECRET = "[sandbox]\nmemory_mb = 128\n# aws_secret_access_key = tf-toml-canary\n"


def _source_library(tmp_path: Path) -> Path:
    source = tmp_path / "source"
    (source / "tools" / "shout").mkdir(parents=True)
    (source / "tools/shout/tool.py").write_text(make_tool("shout"))
    (source / "tools/shout/test_tool.py").write_text(make_tests("shout"))
    return source


def test_init_from_refuses_a_symlinked_settings_file(tmp_path: Path) -> None:
    """The settings file of an imported library is a file coming in like its tools."""
    secret = tmp_path / "settings-elsewhere.toml"
    secret.write_text(TOML_SECRET)
    source = _source_library(tmp_path)
    (source / "toolforge.toml").symlink_to(secret)
    result = run_cli("init", tmp_path / "lib", "--from", source)
    assert result.exit_code == 1, result.stdout
    text = " ".join((result.stdout + result.stderr).split())
    assert "toolforge.toml is a symbolic link" in text and "Traceback" not in text
    assert not (tmp_path / "lib").exists(), "nothing is created for a refused import"


@pytest.mark.parametrize("linked", ["tools", "candidates"])
def test_init_from_refuses_a_symlinked_tools_directory(tmp_path: Path, linked: str) -> None:
    elsewhere = _source_library(tmp_path / "elsewhere")
    source = tmp_path / "source"
    source.mkdir()
    (source / "toolforge.toml").write_text("")
    (source / linked).symlink_to(elsewhere / "tools")
    result = run_cli("init", tmp_path / "lib", "--from", source)
    assert result.exit_code == 1, result.stdout
    assert f"{linked} is a symbolic link" in " ".join((result.stdout + result.stderr).split())
    assert not (tmp_path / "lib").exists()


@pytest.mark.parametrize("target", ["secret", "/dev/zero"])
def test_a_library_whose_settings_file_is_a_symlink_is_refused(library: Path, tmp_path: Path,
                                                               target: str) -> None:
    """A clone can carry a symlinked toolforge.toml: no command follows it (a credentials
    file would be parsed, /dev/zero read for ever)."""
    secret = tmp_path / "settings-elsewhere.toml"
    secret.write_text(TOML_SECRET)
    settings = library / "toolforge.toml"
    settings.unlink()
    settings.symlink_to(secret if target == "secret" else target)
    result = subprocess.run([PYTHON, "-m", "toolforge", "doctor", "-L", str(library)],
                            capture_output=True, text=True, env=python_env(), timeout=120)
    text = " ".join((result.stdout + result.stderr).split())
    # refused when read, or not taken for a library at all (a device is no settings file)
    assert ("toolforge.toml is a symbolic link" in text
            or "without toolforge.toml, not a toolforge library" in text), text
    assert "Traceback" not in text and "tf-toml-canary" not in text


@pytest.mark.parametrize("kind", ["symlink", "fifo", "huge"])
def test_tool_files_inside_a_library_are_read_as_files_coming_in(library: Path,
                                                                 tool_dir: Path,
                                                                 secret: Path,
                                                                 kind: str) -> None:
    """A clone can hold a symlinked test_tool.py (git stores links), or a file a hand put
    there: validating or showing the tool never reads through it, blocks, or reads 200 MB;
    the tool is reported damaged and nothing of the target reaches the report."""
    assert add(library, tool_dir).returncode == 0
    planted = library / "candidates/shout/test_tool.py"
    planted.unlink()
    if kind == "symlink":
        planted.symlink_to(secret)
    elif kind == "fifo":
        os.mkfifo(planted)
    else:
        with planted.open("wb") as f:
            f.truncate(200 << 20)
    for command in (["validate", "shout"], ["show", "shout"], ["list", "--status", "all"]):
        result = subprocess.run([PYTHON, "-m", "toolforge", *command, "-L", str(library)],
                                capture_output=True, text=True, env=python_env(), timeout=120)
        text = " ".join((result.stdout + result.stderr).split())
        assert "candidates/shout/test_tool.py is" in text, (command, text)
        assert SECRET.strip() not in text and "Traceback" not in text, text
        assert result.returncode in (0, 1), text  # `list` lists it as damaged


def test_text_that_arrives_as_a_string_is_capped_too(library: Path) -> None:
    from toolforge.errors import IncomingFileError, TooLargeError
    from toolforge.service.library_service import LibraryService

    svc = LibraryService(library)
    try:
        with pytest.raises(TooLargeError):
            svc.add(make_tool("shout"), "#" * (MAX_SOURCE_BYTES + 1), validate=False)
        with pytest.raises(IncomingFileError, match="lone surrogate"):
            svc.add(make_tool("shout") + "# \ud800\n", validate=False)
    finally:
        svc.close()


# --- the daemon ------------------------------------------------------------------------------


@pytest.fixture
def daemon(library: Path, monkeypatch: pytest.MonkeyPatch,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A real daemon for `library`, started the way the CLI starts it; killed afterwards."""
    from test_daemon_process import kill_all

    monkeypatch.delenv("TOOLFORGE_NO_DAEMON", raising=False)
    result = subprocess.run([PYTHON, "-m", "toolforge", "daemon", "start", "-L", str(library)],
                            capture_output=True, text=True, env=python_env(), timeout=120)
    assert result.returncode == 0, result.stderr
    yield daemon_paths(library).socket
    kill_all(Path(os.environ["XDG_RUNTIME_DIR"]) / "toolforge", tmp_path_factory.getbasetemp())


def _raw_request(sock_path: Path, head: bytes, chunks: Iterator[bytes] = iter(())
                 ) -> tuple[int, dict[str, object]]:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(60)
        sock.connect(str(sock_path))
        sock.sendall(head)
        try:
            for chunk in chunks:
                sock.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused before we were done sending: that is the point
        data = b""
        while b"\r\n\r\n" not in data or len(data.split(b"\r\n\r\n", 1)[1]) < _length(data):
            part = sock.recv(65536)
            if not part:
                break
            data += part
    status = int(data.split(b" ", 2)[1])
    return status, json.loads(data.split(b"\r\n\r\n", 1)[1])


def _length(data: bytes) -> int:
    for line in data.split(b"\r\n\r\n", 1)[0].split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return int(line.split(b":", 1)[1])
    return 1 << 30


def test_the_daemon_refuses_a_declared_huge_body_without_reading_it(daemon: Path) -> None:
    head = (b"POST /v1/tools HTTP/1.1\r\nHost: toolforge\r\n"
            b"Content-Type: application/json\r\nContent-Length: 209715200\r\n\r\n")
    status, doc = _raw_request(daemon, head)  # the 200 MB body is never even sent
    assert status == 413
    assert doc["error"] == "too_large" and "209,715,200 bytes" in str(doc["message"])


def test_the_daemon_cuts_off_a_chunked_body_at_the_cap(daemon: Path) -> None:
    head = (b"POST /v1/tools HTTP/1.1\r\nHost: toolforge\r\n"
            b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
    piece = b"x" * (1 << 20)
    count = MAX_BODY_BYTES // len(piece) + 4
    chunks = (b"%x\r\n%s\r\n" % (len(piece), piece) for _ in range(count))
    status, doc = _raw_request(daemon, head, chunks)
    assert status == 413 and doc["error"] == "too_large"


def test_add_through_the_daemon_refuses_before_uploading(library: Path, tool_dir: Path,
                                                         secret: Path, daemon: Path) -> None:
    (tool_dir / "test_tool.py").unlink()
    (tool_dir / "test_tool.py").symlink_to(secret)
    head = git(library, "rev-parse", "HEAD")
    assert_refused(add(library, tool_dir), library, head, "is a symbolic link")
    (tool_dir / "test_tool.py").unlink()
    (tool_dir / "test_tool.py").write_text(make_tests("shout"))
    assert add(library, tool_dir).returncode == 0
