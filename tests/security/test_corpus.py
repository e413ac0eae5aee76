"""The security corpus (DESIGN.md §5): hostile tools that must be refused or contained.

Each directory under `corpus/` is one attack: `tool.py` (the hostile tool), `test_tool.py`
(tests that pass only if the attack worked, or that a correct tool would fail) and
`case.toml` (category, description, `expect_static`, what "contained" means for it).

Every case runs through the real validation pipeline, twice:
- static checks ON (`static`): if `expect_static`, the static layer must refuse it and
  nothing may run; otherwise the verdict must be failed and everything contained;
- static checks OFF, no fuzzing (`sandbox`): what if the checker had a hole? The sandbox
  alone must keep the verdict failed and contain the attack.
Both run once per isolating backend (bwrap and landlock, see conftest.py).
A representative subset also runs on the `rlimit` backend, asserting only what it promises.

Before each run the test plants a hostile world (`Arena`): API keys in this process's
environment and a key in its session keyring, a private ssh key under a HOME, a
world-writable git library holding a secret, a decoy process with a secret in its
environment, TCP/UDP listeners, a Unix socket, an abstract Unix socket, and a sentinel in
the host's /tmp that lets a tool tell (and its test say) whether it really got out.
Afterwards: no secret in the report (which carries all test output), no canary file and no
file named after the run's marker, library byte-for-byte unchanged, no connection or
datagram received, the decoy alive, and no process left with the case's marker or with a
uid a sandbox of the run was given. Runs are independent, so they go in parallel threads
(each sandbox is its own process tree); `Runner.prefetch` starts every selected run at once.
See docs/security.md.
"""

from __future__ import annotations

import base64
import contextlib
import ctypes
import hashlib
import itertools
import marshal
import os
import re
import secrets
import select
import shutil
import signal
import socket
import stat
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
import tomllib
import traceback
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from toolforge.safety.checker import check_source
from toolforge.sandbox import _uids
from toolforge.sandbox.backends import NOT_ISOLATED_WARNING
from toolforge.sandbox.limits import Limits
from toolforge.service.library_service import init_library
from toolforge.tools.contract import load_tool_source
from toolforge.validation.pipeline import ValidationInput, ValidationOptions, validate
from toolforge.validation.report import ValidationReport

pytestmark = pytest.mark.timeout(600)

CORPUS = Path(__file__).resolve().parent / "corpus"
REPO = Path(__file__).resolve().parents[2]
# Small limits keep the corpus fast: hangs cost 3 s, not the default 10.
LIMITS = Limits(wall_time_s=3, cpu_time_s=2, memory_mb=256, max_processes=16,
                max_file_size_mb=4, max_output_bytes=200_000)
WORKERS = 3  # parallel validations; each is two sandboxes that mostly wait
MAX_REPORT_BYTES = 2_000_000  # an output bomb must not turn into a report bomb
SETTLE_S = 0.3  # after a run, before looking at files and processes again
# The arena lives outside /tmp: inside bwrap /tmp is the sandbox's own work dir, where a
# write to "/tmp/..." succeeds without escaping anything.
ARENA_PARENT = "/var/tmp" if os.path.isdir("/var/tmp") else None

CATEGORIES = {
    "import-escape": "imports of forbidden modules in every disguise, native code",
    "introspection": "subclass, frame, traceback, generator and gc walks to os",
    "secret-read": "/etc/shadow, ~/.ssh, /proc/*/environ, process memory, env vars, library",
    "write-outside": "writes outside the work dir: /tmp, the library and its .git, HOME, venv",
    "network": "TCP, HTTP, UDP, DNS, Unix and abstract sockets, raw sockets",
    "resource-bomb": "fork, memory, disk, output, thread bombs, loops, sleeps, crashes",
    "process-escape": "signal tampering, daemons, setsid, ptrace/prctl, namespaces, kill",
    "spoofing": "every attempt to turn a failing test into a pass (DESIGN.md §5, item 3)",
}
# What the rlimit backend promises (DESIGN.md §5: limits, scrubbed env, the whole tree
# killed, an unforgeable verdict) and, for "documents" cases, all we may assert.
RLIMIT_PROMISES = {"env", "processes", "output"}
ALL_PROMISES = {"verdict", "secrets", "env", "network", "files", "processes", "output"}

# --- secrets planted for every run ----------------------------------------------------------

ENV_SECRET = "sk-canary-" + secrets.token_hex(16)
DECOY_SECRET = "sk-decoy-" + secrets.token_hex(16)
SSH_SECRET = "tf-ssh-canary-" + secrets.token_hex(16)
LIBRARY_SECRET = "tf-lib-canary-" + secrets.token_hex(16)
ENV_NAMES = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "AWS_SECRET_ACCESS_KEY",
             "TOOLFORGE_TEST_SECRET")
SSH_KEY = (f"-----BEGIN OPENSSH PRIVATE KEY-----\n{SSH_SECRET}\n"
           "-----END OPENSSH PRIVATE KEY-----\n")


def _shadow_line() -> str | None:
    """The first line of the host's /etc/shadow (readable: we are root), as a secret."""
    try:
        first = Path("/etc/shadow").read_text().splitlines()[0]
    except (OSError, IndexError):
        return None
    return first if len(first) >= 8 else None


SHADOW_LINE = _shadow_line()
KEYRING_SECRET = "tf-key-canary-" + secrets.token_hex(16)
KEYRING_DESCRIPTION = b"toolforge-corpus-secret"
SECRETS = {
    "env": ENV_SECRET,
    "decoy environ": DECOY_SECRET,
    "ssh key": SSH_SECRET,
    "library": LIBRARY_SECRET,
    "session keyring": KEYRING_SECRET,
    **({"shadow": SHADOW_LINE} if SHADOW_LINE else {}),
}
_KEYCTL_SYSCALLS = {"x86_64": (248, 250), "aarch64": (217, 219)}  # add_key, keyctl
_KEY_SPEC_SESSION_KEYRING = -3
_KEYCTL_INVALIDATE = 21


@contextlib.contextmanager
def key_in_session_keyring(description: bytes, payload: str) -> Iterator[bool]:
    """A "user" key in this process's session keyring, as a login session might hold one
    (Kerberos tickets, cifs or fscrypt credentials); yields whether it could be planted."""
    numbers = _KEYCTL_SYSCALLS.get(os.uname().machine)
    libc = ctypes.CDLL(None, use_errno=True)
    data = payload.encode()
    key = -1
    if numbers is not None:
        key = libc.syscall(numbers[0], b"user", description, data, len(data),
                           _KEY_SPEC_SESSION_KEYRING)
    try:
        yield key > 0
    finally:
        if key > 0 and numbers is not None:
            libc.syscall(numbers[1], _KEYCTL_INVALIDATE, key)

# --- the cases ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    name: str
    category: str
    description: str
    expect_static: bool
    must_fail: bool
    no_survivors: bool
    must_not_pass: tuple[str, ...]
    canary_files: tuple[str, ...]
    grace_s: float
    rlimit: str | None  # None, "contains" or "documents"
    tool: str
    tests: str

    def __str__(self) -> str:
        return self.name


def load_cases() -> list[Case]:
    cases = []
    for directory in sorted(p for p in CORPUS.iterdir() if p.is_dir()):
        meta = tomllib.loads((directory / "case.toml").read_text())
        cases.append(Case(
            name=directory.name,
            category=meta["category"],
            description=meta["description"],
            expect_static=meta["expect_static"],
            must_fail=meta.get("must_fail", True),
            no_survivors=meta.get("no_survivors", True),
            must_not_pass=tuple(meta.get("must_not_pass", ())),
            canary_files=tuple(meta.get("canary_files", ())),
            grace_s=float(meta.get("grace_s", 0.0)),
            rlimit=meta.get("rlimit"),
            tool=(directory / "tool.py").read_text(),
            tests=(directory / "test_tool.py").read_text(),
        ))
    return cases


CASES = load_cases()
RLIMIT_CASES = [c for c in CASES if c.rlimit]
PLACEHOLDER = re.compile(r"\{([A-Z][A-Z0-9_]*)\}")

# --- the hostile world around one run -----------------------------------------------------


def _host_ips() -> list[str]:
    """This machine's non-loopback IPv4 addresses (a listener on 0.0.0.0 answers on all)."""
    try:
        lines = Path("/proc/net/fib_trie").read_text().splitlines()
    except OSError:
        return []
    found = set()
    for previous, line in itertools.pairwise(lines):
        if "/32 host LOCAL" in line:
            address = previous.split()[-1]
            if not address.startswith("127."):
                found.add(address)
    return sorted(found)


def _static_values() -> dict[str, str]:
    base = sysconfig.get_paths(vars={"base": sys.base_prefix, "platbase": sys.base_prefix})
    code = compile("__import__('os')", "<payload>", "eval")
    return {
        "HOST_PID": str(os.getpid()),
        "HOST_IPS": repr(_host_ips()),
        "REPO": str(REPO),
        "STDLIB": os.path.realpath(base["stdlib"]),
        "SITE_PACKAGES": sysconfig.get_paths()["purelib"],
        "MARSHAL_OS_B64": base64.b64encode(marshal.dumps(code)).decode(),
    }


def _make_world_writable(root: Path) -> None:
    """Permissions must not be what stops a tool: only the sandbox may."""
    for dirpath, _dirnames, filenames in os.walk(root):
        os.chmod(dirpath, 0o777)
        for name in filenames:
            path = os.path.join(dirpath, name)
            if not os.path.islink(path):
                os.chmod(path, 0o666 | (os.stat(path).st_mode & 0o111))


def make_template_library(root: Path) -> Path:
    """A real toolforge library (git) with one promoted tool that holds a secret."""
    library = root / "library"
    init_library(library)
    vault = library / "tools" / "vault"
    vault.mkdir(parents=True)
    (vault / "tool.py").write_text(
        "def vault() -> str:\n"
        f'    """Return the deployment token."""\n    return "{LIBRARY_SECRET}"\n'
    )
    (vault / "test_tool.py").write_text(
        "from tool import vault\n\n\ndef test_vault():\n    assert vault()\n"
    )
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull,
           "GIT_AUTHOR_NAME": "corpus", "GIT_AUTHOR_EMAIL": "corpus@example.test",
           "GIT_COMMITTER_NAME": "corpus", "GIT_COMMITTER_EMAIL": "corpus@example.test"}
    for args in (["add", "-A"], ["commit", "-q", "-m", "add vault"]):
        subprocess.run(["git", "-C", str(library), *args], check=True, env=env,
                       capture_output=True)
    return library


def _snapshot(root: Path) -> dict[str, str]:
    """Every path under `root` (.git included) with its type, mode and content hash."""
    result: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            info = os.lstat(path)
            if stat.S_ISLNK(info.st_mode):
                value = "link:" + os.readlink(path)
            elif stat.S_ISDIR(info.st_mode):
                value = f"dir:{info.st_mode:o}"
            else:
                digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
                value = f"file:{info.st_mode:o}:{digest}"
            result[os.path.relpath(path, root)] = value
    return result


def _live_processes() -> Iterator[tuple[int, str]]:
    """(pid, stat) of every process that is not a zombie."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            text = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        if text.rsplit(")", 1)[-1].split()[0] not in ("Z", "X"):
            yield int(entry), text


def processes_with_marker(marker: str) -> list[str]:
    needle = marker.encode()
    found = []
    for pid, _stat in _live_processes():
        for name in ("comm", "cmdline", "environ"):
            try:
                data = Path(f"/proc/{pid}/{name}").read_bytes()
            except OSError:
                continue
            if needle in data:
                found.append(f"pid {pid} ({name}: {data[:60]!r})")
                break
    return found


def processes_with_uids(uids: set[int]) -> list[str]:
    found = []
    if not uids:
        return found
    for pid, text in _live_processes():
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        line = next((x for x in status.splitlines() if x.startswith("Uid:")), "")
        if {int(v) for v in line.split()[1:]} & uids:
            found.append(f"pid {pid} ({text[:60]})")
    return found


class Arena:
    """Everything a hostile tool could want, planted fresh for one run.

    Tools cannot tell from inside whether a write reached the host: a sentinel file in the
    host's /tmp lets them say so honestly ("ESCAPED to ..."), so that their tests pass only
    if the attack really worked. The UDP listener acknowledges datagrams for the same reason.
    """

    def __init__(self, template: Path, static_values: dict[str, str]) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="tf-sec-", dir=ARENA_PARENT))
        self.marker = "tf" + secrets.token_hex(5)  # process names keep 15 characters
        self.canary = f"/tmp/tf-canary-{self.marker}"
        self.sentinel = f"/tmp/tf-sentinel-{self.marker}"
        Path(self.sentinel).write_text("host\n")
        os.chmod(self.sentinel, 0o644)
        self.home = self.root / "home"
        (self.home / ".ssh").mkdir(parents=True)
        (self.home / ".ssh" / "id_rsa").write_text(SSH_KEY)
        self.library = self.root / "library"
        shutil.copytree(template, self.library, symlinks=True)
        _make_world_writable(self.root)
        self.before = _snapshot(self.library)
        self.tcp = socket.create_server(("0.0.0.0", 0))
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("0.0.0.0", 0))
        self.unix_path = str(self.root / "agent.sock")
        self.unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.unix.bind(self.unix_path)
        os.chmod(self.unix_path, 0o777)
        self.abstract_name = "tf-abstract-" + self.marker
        self.abstract = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.abstract.bind("\0" + self.abstract_name)
        for sock in (self.tcp, self.unix, self.abstract):
            sock.listen(16)
        for sock in (self.tcp, self.udp, self.unix, self.abstract):
            sock.setblocking(False)
        self.datagrams: list[str] = []
        self.stop = threading.Event()
        self.echo = threading.Thread(target=self._acknowledge, daemon=True)
        self.echo.start()
        self.decoy = subprocess.Popen(
            ["/usr/bin/sleep", "600"], env={"OPENAI_API_KEY": DECOY_SECRET, "PATH": "/usr/bin"},
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        self.values = {
            **static_values,
            "LIBRARY": str(self.library),
            "CANARY": self.canary,
            "SENTINEL": self.sentinel,
            "HOME": str(self.home),
            "MARKER": self.marker,
            "PORT": str(self.tcp.getsockname()[1]),
            "UDP_PORT": str(self.udp.getsockname()[1]),
            "UNIX_SOCKET": self.unix_path,
            "ABSTRACT_SOCKET": self.abstract_name,
            "DECOY_PID": str(self.decoy.pid),
        }

    def fill(self, text: str) -> str:
        def value(match: re.Match[str]) -> str:
            return self.values[match.group(1)]

        return PLACEHOLDER.sub(value, text)

    def _acknowledge(self) -> None:
        while not self.stop.is_set():
            ready, _, _ = select.select([self.udp], [], [], 0.05)
            if not ready:
                continue
            try:
                data, address = self.udp.recvfrom(4096)
                self.datagrams.append(f"udp datagram from {address!r}: {data[:100]!r}")
                self.udp.sendto(b"ack", address)
            except OSError:
                continue

    def connections(self) -> list[str]:
        events = list(self.datagrams)
        for label, sock in (("tcp", self.tcp), ("unix", self.unix), ("abstract", self.abstract)):
            while True:
                try:
                    conn, address = sock.accept()
                except (BlockingIOError, InterruptedError):
                    break
                conn.settimeout(0.2)
                with contextlib.suppress(OSError):
                    events.append(f"{label} connection {address!r}: {conn.recv(200)!r}")
                conn.close()
        return events

    def close(self) -> None:
        self.stop.set()
        self.echo.join()
        with contextlib.suppress(OSError):
            os.unlink(self.sentinel)
        for sock in (self.tcp, self.udp, self.unix, self.abstract):
            sock.close()
        with contextlib.suppress(OSError):
            self.decoy.kill()
        self.decoy.wait()
        shutil.rmtree(self.root, ignore_errors=True)


# --- running one case --------------------------------------------------------------------


@dataclass
class Outcome:
    case: Case
    mode: str
    backend: str = "bwrap"
    report: ValidationReport | None = None
    error: str | None = None
    duration_s: float = 0.0
    report_json: str = ""
    leaks: list[str] = field(default_factory=list)
    connections: list[str] = field(default_factory=list)
    canaries: list[str] = field(default_factory=list)
    library_changes: list[str] = field(default_factory=list)
    survivors: list[str] = field(default_factory=list)
    decoy_alive: bool = True
    uids: set[int] = field(default_factory=set)

    def describe(self) -> str:
        report = self.report
        lines = [f"{self.case.name} [{self.mode} on {self.backend}] in {self.duration_s:.1f} s: "
                 f"{self.case.description}"]
        if self.error:
            lines.append(f"validate() raised:\n{self.error}")
        if report is not None:
            lines.append(f"verdict {report.verdict} on {report.backend} "
                         f"(isolated={report.isolated})")
            lines += [f"  {layer.name}: {layer.verdict}: {layer.summary[:400]}"
                      for layer in report.layers]
        return "\n".join(lines)

    def test_outcomes(self) -> dict[str, str]:
        layer = self.report.layer("tests") if self.report else None
        return {t["name"]: t["outcome"] for t in layer.tests} if layer else {}


_uid_log: dict[int, list[int]] = {}  # thread id -> uids its sandboxes were given
# Sandboxes reuse free uids: a case's uids stay claimed until its survivors were looked for,
# so that no other sandbox (of this process or another) runs as them meanwhile.
_uid_lock = threading.Lock()
_unchecked: set[int] = set()
_released: set[int] = set()


def _spy_allocate_uid(original: Any) -> Any:
    def allocate() -> int:
        uid = original()
        _uid_log.setdefault(threading.get_ident(), []).append(uid)
        with _uid_lock:
            _unchecked.add(uid)
        return uid

    return allocate


def _spy_release_uid(original: Any) -> Any:
    def release(uid: int) -> None:
        with _uid_lock:
            if uid in _unchecked:
                _released.add(uid)
                return
        original(uid)

    return release


def _checked(uids: set[int]) -> None:
    """The survivors of these uids were looked for: their sandboxes' releases go through."""
    with _uid_lock:
        _unchecked.difference_update(uids)
        due = uids & _released
        _released.difference_update(due)
    for uid in due:
        _uids.release_uid(uid)


class Runner:
    """Runs cases (in parallel on request) and keeps their outcomes for the tests."""

    def __init__(self, template: Path) -> None:
        self.template = template
        self.static_values = _static_values()
        self.outcomes: dict[tuple[str, str, str], Outcome] = {}
        self.lock = threading.Lock()

    def options(self, mode: str, backend: str) -> ValidationOptions:
        if mode == "static":
            return ValidationOptions(backend=backend, limits=LIMITS, static=True, fuzz=True,
                                     fuzz_examples=10, fuzz_deadline_s=3)
        return ValidationOptions(backend=backend, limits=LIMITS, static=False, fuzz=False)

    def get(self, case: Case, mode: str, backend: str) -> Outcome:
        key = (case.name, mode, backend)
        with self.lock:
            known = self.outcomes.get(key)
        if known is None:
            known = self.run(case, mode, backend)
            with self.lock:
                self.outcomes[key] = known
        return known

    def prefetch(self, keys: list[tuple[Case, str, str]]) -> None:
        todo = [(c, m, b) for c, m, b in keys if (c.name, m, b) not in self.outcomes]
        # Slow ones first (hangs and grace periods) so the pool stays busy to the end.
        todo.sort(key=lambda k: (k[0].category not in ("resource-bomb", "process-escape"),
                                 -k[0].grace_s, k[1] == "static"))
        def attempt(key: tuple[Case, str, str]) -> Outcome | None:
            try:
                return self.run(*key)
            except Exception:  # get() runs it again in its own test, where it can fail
                return None

        with ThreadPoolExecutor(WORKERS) as pool:
            for (case, mode, backend), outcome in zip(todo, pool.map(attempt, todo),
                                                      strict=True):
                if outcome is not None:
                    self.outcomes[(case.name, mode, backend)] = outcome

    def run(self, case: Case, mode: str, backend: str) -> Outcome:
        outcome = Outcome(case, mode, backend)
        arena = Arena(self.template, self.static_values)
        canaries = [arena.canary, *(arena.fill(p) for p in case.canary_files)]
        assert not any(os.path.lexists(p) for p in canaries), "stale canary before the run"
        logs: list[str] = []
        _uid_log.pop(threading.get_ident(), None)
        started = time.monotonic()
        try:
            item = ValidationInput(tool=case.name, code=arena.fill(case.tool),
                                   tests=arena.fill(case.tests))
            outcome.report = validate(item, self.options(mode, backend), log=logs.append)
        except Exception:
            outcome.error = traceback.format_exc()
        outcome.duration_s = time.monotonic() - started
        outcome.uids = set(_uid_log.pop(threading.get_ident(), []))
        try:
            time.sleep(max(case.grace_s, SETTLE_S))
            outcome.survivors = (processes_with_marker(arena.marker)
                                 + processes_with_uids(outcome.uids))
            outcome.report_json = (outcome.report.model_dump_json() if outcome.report else "")
            blob = outcome.report_json + "\n".join(logs)
            outcome.leaks = [name for name, value in SECRETS.items() if value in blob]
            outcome.connections = arena.connections()
            canaries += [p for p in _marked_files(arena.marker) if p != arena.sentinel]
            outcome.canaries = sorted({p for p in canaries if os.path.lexists(p)})
            after = _snapshot(arena.library)
            outcome.library_changes = sorted(
                f"{path}: {arena.before.get(path, 'absent')} -> {after.get(path, 'absent')}"
                for path in set(arena.before) | set(after)
                if arena.before.get(path) != after.get(path)
            )
            outcome.decoy_alive = arena.decoy.poll() is None
        finally:
            for path in canaries:  # an escape must not leave files behind for later runs
                with contextlib.suppress(OSError):
                    os.unlink(path)
            for pid in _pids_of(outcome.survivors):
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            _checked(outcome.uids)
            arena.close()
        return outcome


def _marked_files(marker: str) -> list[str]:
    """Files named after the run's marker in the host's shared directories: escape evidence."""
    found = []
    for directory in ("/tmp", "/var/tmp", "/dev/shm"):
        with contextlib.suppress(OSError):
            found += [os.path.join(directory, n) for n in os.listdir(directory) if marker in n]
    return found


def _pids_of(descriptions: list[str]) -> list[int]:
    return [int(d.split()[1]) for d in descriptions]


@pytest.fixture(scope="module")
def runner(request: pytest.FixtureRequest) -> Iterator[Runner]:
    root = Path(tempfile.mkdtemp(prefix="tf-sec-template-", dir=ARENA_PARENT))
    os.chmod(root, 0o755)
    with pytest.MonkeyPatch.context() as patch, \
            key_in_session_keyring(KEYRING_DESCRIPTION, KEYRING_SECRET):
        for name in ENV_NAMES:  # in the validating process, where a sandbox could inherit them
            patch.setenv(name, ENV_SECRET)
        home = root / "home"  # this process's HOME, with a key, like a developer's
        (home / ".ssh").mkdir(parents=True)
        (home / ".ssh" / "id_rsa").write_text(SSH_KEY)
        patch.setenv("HOME", str(home))
        patch.setattr(_uids, "allocate_uid", _spy_allocate_uid(_uids.allocate_uid))
        patch.setattr(_uids, "release_uid", _spy_release_uid(_uids.release_uid))
        corpus = Runner(make_template_library(root))
        by_name = {c.name: c for c in CASES}
        wanted = []
        for item in request.session.items:
            mode = _MODE_OF_TEST.get(getattr(item, "originalname", ""))
            callspec = getattr(item, "callspec", None)
            if mode and callspec is not None and item.module is sys.modules[__name__]:
                backend = callspec.params.get("isolating_backend", "rlimit")
                wanted.append((by_name[callspec.params["case"].name], mode, backend))
        try:
            corpus.prefetch(wanted)
            yield corpus
        finally:
            shutil.rmtree(root, ignore_errors=True)


# --- what "contained" means ----------------------------------------------------------------


def containment_problems(out: Outcome, promises: set[str]) -> list[str]:
    case, report = out.case, out.report
    problems = []
    if "verdict" in promises and report is not None:
        if case.must_fail and report.verdict == "passed":
            problems.append("the verdict is PASSED: the attack made its tests pass")
        outcomes = out.test_outcomes()
        problems += [f"{name} passed" for name in case.must_not_pass
                     if outcomes.get(name) == "passed"]
    if "secrets" in promises and out.leaks:
        problems.append(f"secrets reached the report: {out.leaks}")
    if "env" in promises and "env" in out.leaks:
        problems.append("the API key planted in the environment reached the report")
    if "network" in promises and out.connections:
        problems.append(f"the listeners received: {out.connections}")
    if "files" in promises:
        if out.canaries:
            problems.append(f"canary files were written: {out.canaries}")
        if out.library_changes:
            problems.append(f"the library changed: {out.library_changes[:5]}")
    if "processes" in promises:
        if case.no_survivors and out.survivors:
            problems.append(f"processes survived the sandbox: {out.survivors}")
        if not out.decoy_alive:
            problems.append("the decoy process outside the sandbox was killed")
    if "output" in promises and len(out.report_json) > MAX_REPORT_BYTES:
        problems.append(f"the report is {len(out.report_json)} bytes")
    return problems


def _require(out: Outcome, problems: list[str]) -> None:
    if problems:
        pytest.fail("ESCAPE or broken promise:\n  " + "\n  ".join(problems)
                    + "\n" + out.describe(), pytrace=False)


def _require_report(out: Outcome) -> ValidationReport:
    if out.report is None:
        pytest.fail(out.describe(), pytrace=False)
    return out.report


_MODE_OF_TEST = {
    "test_static_checks_on": "static",
    "test_static_checks_off_the_sandbox_contains_it": "sandbox",
    "test_rlimit_backend_keeps_its_promises": "sandbox",
}


@pytest.mark.parametrize("case", CASES, ids=str)
def test_static_checks_on(runner: Runner, case: Case, isolating_backend: str) -> None:
    """(a) The full pipeline: refused unseen if the checker should, else failed and contained."""
    out = runner.get(case, "static", isolating_backend)
    report = _require_report(out)
    static = report.layer("static")
    assert static is not None, out.describe()
    assert (report.backend, report.isolated) == (isolating_backend, True), out.describe()
    if case.expect_static:
        problems = []
        if static.verdict != "failed":
            problems.append("the static checker accepted a tool it must refuse (a hole in "
                            "layer 1; the sandbox contained what ran)")
        elif not any(f["file"] == "tool.py" for f in static.findings):
            problems.append("refused, but not for anything in tool.py")
        if report.layer("tests") is not None and static.verdict == "failed":
            problems.append("code ran although the static layer refused it")
        problems += containment_problems(out, ALL_PROMISES)
        _require(out, problems)
        assert report.verdict == "failed"
    else:
        assert static.verdict == "passed", (
            "the checker refuses this case although case.toml says it should not: update "
            "expect_static\n" + out.describe())
        _require(out, containment_problems(out, ALL_PROMISES))
        assert report.layer("tests") is not None, out.describe()


@pytest.mark.parametrize("case", CASES, ids=str)
def test_static_checks_off_the_sandbox_contains_it(runner: Runner, case: Case,
                                                   isolating_backend: str) -> None:
    """(b) Static checks and fuzzing off: the sandbox alone must contain every attack."""
    out = runner.get(case, "sandbox", isolating_backend)
    report = _require_report(out)
    assert (report.backend, report.isolated) == (isolating_backend, True), out.describe()
    assert [layer.name for layer in report.layers][:3] == ["contract", "static", "tests"], (
        out.describe())
    assert report.layer("static").verdict == "skipped"  # type: ignore[union-attr]
    _require(out, containment_problems(out, ALL_PROMISES))
    if case.must_fail:
        assert report.verdict == "failed", out.describe()


@pytest.mark.parametrize("case", RLIMIT_CASES, ids=str)
def test_rlimit_backend_keeps_its_promises(runner: Runner, case: Case,
                                          record_property: Any) -> None:
    """The rlimit backend: limits, scrubbed env, no survivors, unforgeable verdict; it says
    loudly that it is not isolated. For "documents" cases (network, files) that is all we
    may assert: what got through is recorded, not required."""
    out = runner.get(case, "sandbox", "rlimit")
    report = _require_report(out)
    assert report.backend == "rlimit"
    assert report.isolated is False
    assert NOT_ISOLATED_WARNING in report.warnings
    promises = ALL_PROMISES if case.rlimit == "contains" else RLIMIT_PROMISES
    _require(out, containment_problems(out, promises))
    if case.rlimit == "documents":
        escaped = containment_problems(out, ALL_PROMISES - RLIMIT_PROMISES)
        record_property("rlimit_not_contained", "; ".join(escaped) or "nothing")
        print(f"rlimit, {case.name}: not contained (as documented): {escaped or 'nothing'}")


# --- the corpus itself ----------------------------------------------------------------------


def test_the_corpus_covers_the_threat_model() -> None:
    assert len(CASES) >= 40
    counts = {name: sum(c.category == name for c in CASES) for name in CATEGORIES}
    assert all(counts.values()), counts
    assert {c.category for c in CASES} <= set(CATEGORIES)
    names = {c.name for c in CASES}
    required = {  # the list, one case at least each
        "read_etc_shadow", "read_ssh_private_key", "read_proc_environ", "read_os_environ",
        "write_library_git_hook", "write_library_tool_file", "write_tmp_outside_workdir",
        "tcp_connect_exfil", "dns_exfil", "unix_socket_path", "fork_bomb", "memory_bomb",
        "disk_bomb", "output_bomb_print", "infinite_loop", "sleep_forever",
        "signal_ignore_loop", "daemon_double_fork", "setsid_escape_on_call",
        "ptrace_prctl_tricks", "subclasses_walk_os_system", "sys_getframe_walk",
        "generator_gi_frame_walk", "builtins_import_hook", "importlib_import_module",
        "dunder_import_concat", "getattr_builtins_eval", "pickle_reduce_eval",
        "marshal_code_object", "spoof_print_pass_markers", "spoof_sys_exit_on_import",
        "spoof_os_exit_on_import", "spoof_sys_exit_on_call", "spoof_os_exit_on_call",
        "spoof_raise_systemexit", "spoof_patch_assertionerror", "spoof_patch_json",
        "spoof_patch_test_proxy", "spoof_results_file", "spoof_write_inherited_fds",
        "spoof_always_equal_str", "spoof_kill_parent", "spoof_killpg", "spoof_close_all_fds",
    }
    assert required <= names, sorted(required - names)
    rlimit_kinds = {c.category for c in RLIMIT_CASES}
    assert {"network", "write-outside", "secret-read", "resource-bomb", "process-escape",
            "spoofing"} <= rlimit_kinds


@pytest.mark.parametrize("case", CASES, ids=str)
def test_each_case_is_well_formed(case: Case) -> None:
    """Valid contract, known placeholders, and a test file the checker accepts: so a static
    refusal is always about tool.py, and a run always reaches the sandbox."""
    values = {name: "0" for name in (
        "LIBRARY", "CANARY", "SENTINEL", "HOME", "MARKER", "PORT", "UDP_PORT", "UNIX_SOCKET",
        "ABSTRACT_SOCKET", "DECOY_PID", *_static_values())}
    for text in (case.tool, case.tests):
        unknown = set(PLACEHOLDER.findall(text)) - set(values)
        assert not unknown, f"unknown placeholders {unknown}"
    tool = PLACEHOLDER.sub(lambda m: values[m.group(1)], case.tool)
    tests = PLACEHOLDER.sub(lambda m: values[m.group(1)], case.tests)
    spec = load_tool_source(tool)
    assert check_source(tests, filename="test_tool.py", is_test=True,
                        entrypoint=spec.name) == []
    assert case.rlimit in (None, "contains", "documents")
    if case.category == "spoofing":
        assert case.must_not_pass, "a spoofing case names the test it tries to turn green"
