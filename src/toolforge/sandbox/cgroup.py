"""Per-sandbox cgroups: memory and process counts for the whole tree, and a kill that misses
nothing.

RLIMIT_AS and RLIMIT_NPROC bound one process each; a sandbox is a tree of them, plus memfd
and tmpfs pages that no process maps. A cgroup bounds the tree: every page a sandboxed
process allocates, tmpfs and memfd pages included, is charged to it, and the kernel kills
inside it when it is full. `cgroup.kill` (cgroup v2) kills every member at once, stopped or
forking ones included.

What this machine offers is found once per process (`support()`), per feature:
- memory: cgroup v2 `memory.max` where the memory controller can be enabled for our
  children (our cgroup already delegates it, or it is a hierarchy root), else cgroup v1
  `memory.limit_in_bytes` where our v1 memory cgroup is writable;
- pids: v2 `pids.max` likewise, else v1 `pids.max`;
- kill: v2 `cgroup.kill` in any cgroup2 hierarchy where we may create a child (it needs no
  controller), else v1 by listing members until none is left.
A feature that is missing is named with its reason; sandboxes then say in their report what
is bounded per process only. Each process keeps its sandboxes under one directory
`toolforge-<pid>` per hierarchy, so a crashed daemon's leftovers are found and removed.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import logging
import os
import select
import threading
import time
from dataclasses import dataclass, field

from toolforge.sandbox.reaper import kill_cgroup, reaper

log = logging.getLogger(__name__)

_PREFIX = "toolforge-"


@dataclass(frozen=True)
class Hierarchy:
    version: int  # 1 or 2
    path: str  # the directory of our own cgroup in this hierarchy
    controllers: frozenset[str]


@dataclass
class Support:
    """Where each feature lives (a directory our sandboxes' cgroups go under), or why not."""

    memory: tuple[int, str] | None = None  # (cgroup version, parent directory)
    pids: tuple[int, str] | None = None
    kill: tuple[int, str] | None = None
    reasons: dict[str, str] = field(default_factory=dict)

    def describe(self) -> dict[str, object]:
        def one(feature: str, value: tuple[int, str] | None) -> dict[str, object]:
            if value is None:
                return {"available": False, "reason": self.reasons.get(feature)}
            return {"available": True, "version": value[0], "parent": value[1]}

        return {"memory": one("memory", self.memory), "pids": one("pids", self.pids),
                "kill": one("kill", self.kill)}

    def unbounded(self) -> list[str]:
        """What a sandbox on this machine does NOT get, in words for reports."""
        said = []
        if self.memory is None:
            said.append("memory is bounded per process (RLIMIT_AS), not for the sandbox as a "
                        "whole: several processes, memfd and tmpfs pages can exceed it "
                        f"({self.reasons.get('memory', 'no cgroup')})")
        if self.pids is None:
            said.append("the process count is bounded per uid (RLIMIT_NPROC), not by a "
                        f"cgroup ({self.reasons.get('pids', 'no cgroup')})")
        return said


def _mounts() -> list[tuple[str, str, str, str]]:
    """(mount point, root within the hierarchy, fs type, super options) of cgroup mounts."""
    found = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            fields, tail = left.split(), right.split()
            if len(fields) >= 5 and len(tail) >= 3 and tail[0] in ("cgroup", "cgroup2"):
                point = fields[4].replace("\\040", " ")
                found.append((point, fields[3], tail[0], tail[2]))
    return found


def _hierarchies() -> list[Hierarchy]:
    own: dict[str, str] = {}  # controller list ("" for v2) -> path
    with open("/proc/self/cgroup") as f:
        for line in f:
            parts = line.rstrip("\n").split(":", 2)
            if len(parts) == 3:
                own[parts[1]] = parts[2]
    found = []
    for point, root, kind, options in _mounts():
        if kind == "cgroup2":
            path = own.get("")
            version = 2
            try:
                with open(os.path.join(point, "cgroup.controllers")) as f:
                    controllers = frozenset(f.read().split())
            except OSError:
                continue
        else:
            names = frozenset(options.split(","))  # controllers, among other flags
            key = next((k for k in own if k and frozenset(k.split(",")) <= names), None)
            path = own.get(key) if key is not None else None
            version, controllers = 1, names
        if path is None or not (path == root or path.startswith(root.rstrip("/") + "/")
                                or root == "/"):
            continue  # our cgroup is not visible through this mount
        relative = path[len(root):] if root != "/" else path
        directory = os.path.normpath(point + "/" + relative.lstrip("/"))
        if os.path.isdir(directory):
            found.append(Hierarchy(version, directory, controllers))
    return found


def _base(hierarchy: Hierarchy) -> str | None:
    """Our per-process parent directory in `hierarchy`, created now; None if we may not."""
    base = os.path.join(hierarchy.path, f"{_PREFIX}{os.getpid()}")
    try:
        os.mkdir(base)
    except FileExistsError:
        pass
    except OSError as exc:
        log.debug("cgroup: cannot create %s: %s", base, exc)
        return None
    _clean_stale(hierarchy.path)
    return base


def _clean_stale(parent: str) -> None:
    """Remove what daemons that died without cleaning up left here (empty cgroups only)."""
    with contextlib.suppress(OSError):
        for name in os.listdir(parent):
            if not name.startswith(_PREFIX) or not name[len(_PREFIX):].isdigit():
                continue
            pid = int(name[len(_PREFIX):])
            if pid == os.getpid() or os.path.exists(f"/proc/{pid}"):
                continue
            remove_tree(os.path.join(parent, name))


def remove_tree(directory: str) -> None:
    """rmdir a cgroup and its children, deepest first; cgroups with members stay."""
    for dirpath, _dirnames, _files in sorted(os.walk(directory), key=lambda w: -len(w[0])):
        with contextlib.suppress(OSError):
            os.rmdir(dirpath)


def _v2_enable(hierarchy: Hierarchy, base: str, wanted: list[str]) -> set[str]:
    """Enable `wanted` controllers for the children of `base`; which ones now work."""
    ready: set[str] = set()
    subtree = os.path.join(hierarchy.path, "cgroup.subtree_control")
    try:
        with open(subtree) as f:
            enabled = set(f.read().split())
    except OSError:
        return ready
    for name in wanted:
        if name not in hierarchy.controllers:
            continue
        if name not in enabled:
            # Allowed at a hierarchy root, or when our cgroup has no member of its own;
            # refused (EBUSY) otherwise, and then this controller is not ours to use.
            try:
                with open(subtree, "w") as f:
                    f.write(f"+{name}")
            except OSError:
                continue
        try:
            with open(os.path.join(base, "cgroup.subtree_control"), "w") as f:
                f.write(f"+{name}")
            ready.add(name)
        except OSError:
            continue
    return ready


def support() -> Support:
    """What cgroups can do for sandboxes started by this process (found once per process)."""
    return _support(os.getpid())


@functools.cache
def _support(_pid: int) -> Support:
    result = Support()
    try:
        hierarchies = _hierarchies()
    except OSError as exc:
        result.reasons = dict.fromkeys(("memory", "pids", "kill"), f"cannot read cgroups: {exc}")
        return result
    if not hierarchies:
        result.reasons = dict.fromkeys(("memory", "pids", "kill"), "no cgroup filesystem is "
                                       "mounted where this process can see its own cgroup")
        return result
    for hierarchy in (h for h in hierarchies if h.version == 2):
        base = _base(hierarchy)
        if base is None:
            continue
        if result.kill is None and os.path.exists(os.path.join(base, "cgroup.kill")):
            result.kill = (2, base)
        ready = _v2_enable(hierarchy, base, ["memory", "pids"])
        if "memory" in ready and result.memory is None:
            result.memory = (2, base)
        if "pids" in ready and result.pids is None:
            result.pids = (2, base)
    for feature in ("memory", "pids"):
        if getattr(result, feature) is not None:
            continue
        v1 = next((h for h in hierarchies if h.version == 1 and feature in h.controllers), None)
        base = _base(v1) if v1 is not None else None
        if base is not None:
            setattr(result, feature, (1, base))
        else:
            in_v2 = any(feature in h.controllers for h in hierarchies if h.version == 2)
            result.reasons[feature] = (
                f"the cgroup2 {feature} controller cannot be enabled below this process's "
                "cgroup (it is not delegated; e.g. run under `systemd-run --user --scope "
                "-p Delegate=yes`)" if in_v2
                else f"no writable {feature} cgroup (v2 or v1) for this process"
            )
    if result.kill is None:
        if result.memory is not None or result.pids is not None:
            chosen = result.memory or result.pids
            assert chosen is not None
            result.kill = (1, chosen[1])  # listing members (v1) or cgroup.kill (v2)
        else:
            result.reasons["kill"] = "no cgroup this process may create children in"
    parents = sorted({w[1] for w in (result.memory, result.pids, result.kill) if w is not None})
    if parents and (watcher := reaper()) is not None:
        watcher.watch("cgroup-parents", {"cgroups": parents})  # removed last, at our death
    return result


_counter = iter(range(1, 1 << 62))
_counter_lock = threading.Lock()


class SandboxCgroup:
    """The cgroups of one sandbox (one directory per hierarchy in use)."""

    def __init__(self, directories: dict[str, tuple[int, str]]) -> None:
        self.directories = directories  # feature -> (version, directory)
        self._applied: tuple[int, int] | None = None  # the limits last written in full

    @classmethod
    def create(cls, memory_bytes: int, max_processes: int) -> SandboxCgroup | None:
        """A fresh cgroup set with these limits, or None where this machine has none."""
        found = support()
        with _counter_lock:
            name = f"sb-{next(_counter)}"
        directories: dict[str, tuple[int, str]] = {}
        for feature in ("memory", "pids", "kill"):
            where = getattr(found, feature)
            if where is not None:
                directories[feature] = (where[0], os.path.join(where[1], name))
        if not directories:
            return None
        group = cls(directories)
        try:
            # Fail closed: reports say this machine bounds sandboxes, so each one must be.
            for directory in group.paths:
                os.mkdir(directory)
            group.set_limits(memory_bytes, max_processes)
        except OSError:
            group.remove()
            raise
        return group

    @property
    def paths(self) -> list[str]:
        return sorted({d for _v, d in self.directories.values()})

    def _write(self, feature: str, name: str, value: str) -> bool:
        where = self.directories.get(feature)
        if where is None:
            return False
        try:
            with open(os.path.join(where[1], name), "w") as f:
                f.write(value)
        except FileNotFoundError:
            return False
        return True

    def set_limits(self, memory_bytes: int, max_processes: int) -> None:
        if self._applied == (memory_bytes, max_processes):
            return  # a warm spare taken for a job with its pool's limits: nothing to write
        self._applied = None
        memory = self.directories.get("memory")
        if memory is not None:
            if memory[0] == 2:
                self._write("memory", "memory.max", str(memory_bytes))
                # Swapped-out tmpfs pages would escape the bound otherwise.
                with contextlib.suppress(OSError):
                    self._write("memory", "memory.swap.max", "0")
            else:
                self._v1_memory(memory_bytes)
        if "pids" in self.directories:
            self._write("pids", "pids.max", str(max_processes))
        self._applied = (memory_bytes, max_processes)

    def _v1_memory(self, limit: int) -> None:
        # memsw (memory + swap) must stay >= the memory limit: order the writes by direction.
        current = self._read("memory", "memory.limit_in_bytes")
        names = ["memory.limit_in_bytes", "memory.memsw.limit_in_bytes"]
        if current is not None and limit > int(current):
            names.reverse()
        for name in names:
            try:
                self._write("memory", name, str(limit))
            except OSError as exc:
                if name == "memory.limit_in_bytes" or exc.errno not in (errno.EINVAL,
                                                                         errno.EACCES):
                    raise  # memsw exists only with swap accounting; the rest must work

    def _read(self, feature: str, name: str) -> str | None:
        where = self.directories.get(feature)
        if where is None:
            return None
        try:
            with open(os.path.join(where[1], name)) as f:
                return f.read()
        except OSError:
            return None

    def members(self) -> list[int]:
        pids: set[int] = set()
        for directory in self.paths:
            with contextlib.suppress(OSError), open(os.path.join(directory, "cgroup.procs")) as f:
                pids.update(int(x) for x in f.read().split())
        return sorted(pids)

    def memory_exhausted(self) -> bool:
        """True once the kernel's OOM killer acted in this sandbox (or the limit was hit)."""
        memory = self.directories.get("memory")
        if memory is None:
            return False
        text = self._read("memory", "memory.events" if memory[0] == 2 else "memory.oom_control")
        for line in (text or "").splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill" and value.strip().isdigit() and int(value) > 0:
                return True
        return False

    def kill(self) -> None:
        """SIGKILL every member: at once with cgroup.kill, else by listing until none is left."""
        kill = self.directories.get("kill")
        if kill is not None:
            kill_cgroup(kill[1])

    def wait_empty(self, timeout: float) -> bool:
        """Wait until no process is left in the sandbox's cgroups."""
        deadline = time.monotonic() + timeout
        kill = self.directories.get("kill")
        if kill is not None and kill[0] == 2:
            return self._wait_unpopulated(kill[1], deadline)
        delay = 0.0005
        while self.members():
            if time.monotonic() > deadline:
                return False
            time.sleep(delay)
            delay = min(delay * 2, 0.02)
        return True

    @staticmethod
    def _wait_unpopulated(directory: str, deadline: float) -> bool:
        path = os.path.join(directory, "cgroup.events")
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return True
        try:
            poller = select.poll()
            poller.register(fd, select.POLLPRI)
            while True:
                if b"populated 0" in os.pread(fd, 256, 0):
                    return True
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                poller.poll(min(remaining, 0.05) * 1000)
        finally:
            os.close(fd)

    def remove(self) -> None:
        for directory in self.paths:
            with contextlib.suppress(OSError):
                os.rmdir(directory)


def cleanup_process() -> None:
    """Remove this process's parent directories (called at exit; empty ones only)."""
    if _support.cache_info().currsize == 0:
        return
    found = support()
    for where in {w[1] for w in (found.memory, found.pids, found.kill) if w is not None}:
        remove_tree(where)
