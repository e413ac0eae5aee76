"""The tool library: a git repository of plain tool directories (DESIGN.md §3).

Every mutation goes through `Library._mutate`, which takes the writer lock, recovers any
interrupted operation, refuses to touch hand-edited paths, journals its intent, applies the
change, and makes exactly one commit (plus tags). History is never rewritten.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final, Literal

from pydantic import BaseModel

from toolforge.errors import (
    ConflictError,
    LibraryError,
    LockTimeoutError,
    NotFoundError,
    ToolContractError,
    ToolforgeError,
)
from toolforge.library.crashpoints import step
from toolforge.library.discovery import SETTINGS_FILE, not_a_library_error
from toolforge.library.discovery import resolve_library_path as resolve_library_path
from toolforge.library.fsutil import atomic_write_text, leftover_name, remove_tree
from toolforge.library.gitrepo import GitRepo, LogEntry
from toolforge.library.journal import (
    JournalEntry,
    clear_journal,
    journal_path,
    write_journal,
)
from toolforge.library.localstate import STATE_DIR, check_head
from toolforge.library.lock import library_lock
from toolforge.library.meta import ToolMeta, dump_meta, now_iso, parse_meta
from toolforge.names import validate_tool_name

if TYPE_CHECKING:
    from toolforge.library.settings import LibrarySettings

TOOLS_DIR: Final = "tools"
CANDIDATES_DIR: Final = "candidates"
TOOL_FILE = "tool.py"
TEST_FILE = "test_tool.py"
META_FILE = "tool.toml"
GITIGNORE = "# local state of toolforge: locks, journal, reports, usage counters, logs\n" \
    ".toolforge/\n__pycache__/\n*.pyc\n"

Location = Literal["tools", "candidates"]


class ToolFiles(BaseModel):
    """The three files of one tool version."""

    meta: ToolMeta
    code: str
    tests: str


class ToolEntry(BaseModel):
    """A row of `toolforge list`: metadata, or the problem that kept it from loading."""

    name: str
    location: Location
    meta: ToolMeta | None = None
    problem: str | None = None


class CommitResult(BaseModel):
    commit: str
    subject: str
    version: int | None = None
    tags: list[str] = []
    warnings: list[str] = []


@dataclass(frozen=True)
class Change:
    """One pending mutation: what it touches and how it is described."""

    action: str
    subject: str
    paths: list[str]
    apply: Callable[[], None]
    tool: str | None = None
    version: int | None = None
    tags: tuple[str, ...] = ()
    trailers: tuple[tuple[str, str], ...] = ()
    body: str = ""
    # Restoring a committed state (a library rollback) does not depend on the settings and
    # is a way to repair broken ones, so it alone skips the settings check.
    checks_settings: bool = True


def version_tag(name: str, version: int) -> str:
    return f"tool/{name}/v{version}"


class Library:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.state_dir = root / STATE_DIR
        self._git: GitRepo | None = None
        # Called before every mutation; raises to refuse it (the service checks settings).
        self.preflight: Callable[[], object] | None = None
        # Called after every commit, under the lock (LibraryService publishes a change to a
        # shared library's remote here); returns the result as it ended up.
        self.after_commit: Callable[[CommitResult], CommitResult] | None = None

    # --- opening --------------------------------------------------------------------------

    @classmethod
    def open(cls, root: Path) -> Library:
        """The library at `root`. An interrupted change is recovered first, from the
        journal and git alone: it may be what keeps toolforge.toml from being there."""
        if not (root / ".git").exists():
            raise not_a_library_error(root)
        if journal_path(root / STATE_DIR).exists():
            check_head(root)  # never act on a journal that came from a committed tree
            lib = cls(root)
            if (root / SETTINGS_FILE).is_file():
                lib.try_recover()  # a live writer's journal is not ours to act on
            else:
                lib.recover()
            lib.close()
        if not (root / SETTINGS_FILE).is_file():
            raise not_a_library_error(root)
        check_head(root)  # local state never comes from a committed tree (localstate.py)
        return cls(root)

    @classmethod
    def init(cls, root: Path) -> tuple[Library, bool]:
        """Create a library at `root`; returns (library, created). Idempotent, and on a
        library whose change was interrupted, it recovers rather than refuses."""
        if root.exists() and not root.is_dir():
            raise LibraryError(f"{root} exists and is not a directory")
        if (root / ".git").exists() and journal_path(root / STATE_DIR).exists():
            check_head(root)
            recovering = cls(root)
            recovering.recover()
            recovering.close()
        if (root / SETTINGS_FILE).is_file() and (root / ".git").exists():
            check_head(root)
            lib = cls(root)
            with lib.locked():
                lib._recover()
                if lib.git.head() is None:  # created but killed before the first commit
                    lib._initial_commit()
            return lib, False
        if root.exists() and any(root.iterdir()):
            importable = (root / SETTINGS_FILE).is_file()
            raise LibraryError(
                f"{root} is not empty and is not a toolforge library",
                hint=f"import it into a new library: `toolforge init NEW --from {root}`"
                if importable else "choose an empty or new directory; toolforge will not "
                "take over existing files",
            )
        root.mkdir(parents=True, exist_ok=True)
        GitRepo.init(root).close()
        lib = cls(root)
        with lib.locked():
            lib._initial_commit()
        return lib, True

    def _initial_commit(self) -> None:
        from toolforge.library.settings import DEFAULT_SETTINGS_TOML

        atomic_write_text(self.root / SETTINGS_FILE, DEFAULT_SETTINGS_TOML)
        atomic_write_text(self.root / ".gitignore", GITIGNORE)
        for sub in (TOOLS_DIR, CANDIDATES_DIR):
            atomic_write_text(self.root / sub / ".gitkeep", "")
        self.git.commit_all(_message("init", "initialize toolforge library", None, None, (), ""))

    @property
    def git(self) -> GitRepo:
        if self._git is None:
            self._git = GitRepo(self.root)
        return self._git

    def close(self) -> None:
        if self._git is not None:
            self._git.close()
            self._git = None

    def settings(self) -> LibrarySettings:
        """The library's own toolforge.toml, checked strictly (what the file says; what
        applies after the user's settings is `toolforge.config.effective_settings`)."""
        from toolforge.library.settings import load_settings

        return load_settings(self.root)

    @contextmanager
    def locked(self, timeout_s: float = 60.0) -> Iterator[None]:
        with library_lock(self.state_dir, timeout_s):
            yield

    # --- reading ----------------------------------------------------------------------------

    def tool_dir(self, name: str, location: Location) -> Path:
        return self.root / location / validate_tool_name(name)

    def entries(self, locations: tuple[Location, ...] = (TOOLS_DIR, CANDIDATES_DIR)
                ) -> list[ToolEntry]:
        """Every tool directory, active/retired and candidate (or of `locations` only),
        sorted by name."""
        out: list[ToolEntry] = []
        for location in locations:
            base = self.root / location
            try:
                it = os.scandir(base)
            except FileNotFoundError:
                continue
            with it:
                for de in it:
                    if de.name.startswith(".") or not de.is_dir(follow_symlinks=False):
                        continue
                    entry = self._entry(de.name, location)
                    if entry.meta is None and not os.path.isdir(de.path):
                        continue  # removed by a writer while we listed
                    out.append(entry)
        out.sort(key=lambda e: (e.name, e.location))
        return out

    def entry(self, name: str, location: Location) -> ToolEntry:
        """One tool directory's row: its metadata, or the problem that kept it from loading."""
        return self._entry(name, location)

    def _entry(self, name: str, location: Location) -> ToolEntry:
        path = self.root / location / name / META_FILE
        try:
            meta = parse_meta(_utf8(path, f"{location}/{name}"), f"{location}/{name}/{META_FILE}")
        except FileNotFoundError:
            return ToolEntry(name=name, location=location, problem=f"{META_FILE} is missing")
        except (ToolforgeError, UnicodeDecodeError, OSError) as exc:
            return ToolEntry(name=name, location=location, problem=str(exc))
        return ToolEntry(name=name, location=location, meta=meta)

    def read_current(self, name: str, location: Location) -> ToolFiles:
        d = self.tool_dir(name, location)
        if not d.is_dir():
            raise NotFoundError(
                f"no {'candidate' if location == CANDIDATES_DIR else 'tool'} named {name!r}",
                hint="see `toolforge list --status all`",
            )
        where = f"{location}/{name}"
        try:
            meta = parse_meta(_utf8(d / META_FILE, where), f"{where}/{META_FILE}")
            code = _utf8(d / TOOL_FILE, where)
        except FileNotFoundError as exc:
            if not d.is_dir():  # removed by a writer while we read (readers take no lock)
                raise NotFoundError(
                    f"no {'candidate' if location == CANDIDATES_DIR else 'tool'} named "
                    f"{name!r}", hint="see `toolforge list --status all`")
            raise LibraryError(f"{where}: {Path(exc.filename).name} is missing")
        try:
            tests = _utf8(d / TEST_FILE, where)
        except FileNotFoundError:
            tests = ""
        return ToolFiles(meta=meta, code=code, tests=tests)

    def find_current(self, name: str, location: Location) -> ToolFiles | None:
        try:
            return self.read_current(name, location)
        except NotFoundError:
            return None

    def promoted_versions(self, name: str) -> dict[int, str]:
        """version -> commit for every tag tool/<name>/vN."""
        prefix = f"tool/{validate_tool_name(name)}/"
        out: dict[int, str] = {}
        for tag, sha in self.git.tags(prefix).items():
            suffix = tag[len(prefix):]
            if suffix.startswith("v") and suffix[1:].isdigit():
                out[int(suffix[1:])] = sha
        return out

    def read_version(self, name: str, version: int) -> ToolFiles:
        commit = self.promoted_versions(name).get(version)
        if commit is None:
            raise NotFoundError(
                f"{name} has no promoted version {version}",
                hint=f"see `toolforge history {name}` for its versions",
            )
        return self.read_at(commit, name, TOOLS_DIR)

    def read_at(self, rev: str, name: str, location: Location) -> ToolFiles:
        base = f"{location}/{name}"
        meta_text = self.git.read_blob(rev, f"{base}/{META_FILE}")
        code = self.git.read_blob(rev, f"{base}/{TOOL_FILE}")
        if meta_text is None or code is None:
            raise NotFoundError(f"{base} does not exist at {rev[:12]}")
        tests = self.git.read_blob(rev, f"{base}/{TEST_FILE}") or ""
        return ToolFiles(meta=parse_meta(meta_text, f"{base}/{META_FILE}@{rev[:12]}"), code=code,
                         tests=tests)

    def next_version(self, name: str) -> int:
        known = set(self.promoted_versions(name))
        active = self.find_current(name, TOOLS_DIR)
        if active is not None:  # a library rollback can leave files without a newer tag
            known.add(active.meta.version)
        return max(known, default=0) + 1

    def history(self, name: str | None = None, limit: int | None = None) -> list[LogEntry]:
        if name is None:
            return self.git.log(None, limit=limit)
        validate_tool_name(name)
        # One pathspec per query: git's Bloom filters only help single-pathspec walks
        # (7x faster at 50k commits). Both lists are newest-first slices of one linear
        # history; merge them by commit date, and settle same-second ties by ancestry.
        a, b = (self.git.log([f"{loc}/{name}"], limit=limit)
                for loc in (TOOLS_DIR, CANDIDATES_DIR))
        merged: list[LogEntry] = []
        seen: set[str] = set()
        i = j = 0
        while i < len(a) or j < len(b):
            take_a = j >= len(b) or (i < len(a) and self._newer(a[i], b[j]))
            entry = a[i] if take_a else b[j]
            if take_a:
                i += 1
            else:
                j += 1
            if entry.commit not in seen:
                seen.add(entry.commit)
                merged.append(entry)
        return merged[:limit] if limit else merged

    def _newer(self, x: LogEntry, y: LogEntry) -> bool:
        if x.commit == y.commit or x.date != y.date:
            return x.date >= y.date
        return self._is_ancestor(y.commit, x.commit)

    def hand_edits(self, paths: list[str] | None = None) -> list[tuple[str, str]]:
        """Uncommitted changes in the library's tracked area (tools, candidates, settings)."""
        return self.git.status(paths or [TOOLS_DIR, CANDIDATES_DIR, SETTINGS_FILE])

    # --- mutations --------------------------------------------------------------------------

    def recover(self) -> str | None:
        with self.locked():
            return self._recover()

    def try_recover(self) -> str | None:
        """For readers: clean up after a dead writer if there is one, never wait for a live
        one (a live writer's journal is not stale). Costs one stat when there is nothing.
        A library this process may not write (read-only) is read as it is."""
        if not journal_path(self.state_dir).exists() or \
                not os.access(self.state_dir, os.W_OK):
            return None
        try:
            with self.locked(timeout_s=0):
                return self._recover()
        except LockTimeoutError:
            return None

    def _recover(self) -> str | None:
        """Finish or undo an operation interrupted by a crash (library/recovery.py).
        Returns what was done, in a sentence; a stale or torn journal is also logged as a
        warning (stderr for a command, the daemon's log for the daemon)."""
        from toolforge.library.recovery import recover

        if not journal_path(self.state_dir).exists():
            return None
        done = recover(self.git, self.state_dir)
        return done.detail if done is not None else None

    def mutate(self, change: Change) -> CommitResult:
        with self.locked():
            return self._mutate(change)

    def _mutate(self, change: Change) -> CommitResult:
        self._recover()
        if change.checks_settings and self.preflight is not None:
            self.preflight()
        dirty = self.git.status(change.paths)
        if dirty:
            listing = ", ".join(f"{path} ({_describe_status(code)})" for code, path in dirty[:5])
            raise ConflictError(
                f"hand edits in the library block `{change.action}`: {listing}",
                hint="toolforge never overwrites or silently commits hand edits: discard them "
                f"(git -C {self.root} checkout -- <path>) or import them as a candidate "
                "(toolforge add <dir> --name <tool>)",
            )
        message = _message(
            change.action, change.subject, change.tool, change.version, change.trailers,
            change.body,
        )
        base = self.git.head()
        write_journal(
            self.state_dir,
            JournalEntry(action=change.action, base=base, paths=change.paths, message=message,
                         tags=list(change.tags)),
        )
        try:
            change.apply()
            sha = self.git.commit_paths(message, change.paths, base)
            for tag in change.tags:
                self.git.tag(tag, sha)
        except BaseException:
            # Undo right away when we still can; a SIGKILL leaves this to the next writer.
            self._recover()
            raise
        clear_journal(self.state_dir)
        step()
        self._maintain()
        result = CommitResult(commit=sha, subject=change.subject, version=change.version,
                              tags=list(change.tags))
        return self.after_commit(result) if self.after_commit is not None else result

    def _maintain(self, every: int = 256) -> None:
        """Every `every` commits, refresh the commit-graph (Bloom filters for history)."""
        counter = self.state_dir / "commits-since-graph"
        try:
            count = int(counter.read_text() or 0) + 1
        except (FileNotFoundError, ValueError):
            count = 1
        if count >= every:
            self.git.write_commit_graph()
            count = 0
        counter.write_text(str(count))

    def write_tool_dir(self, name: str, location: Location, files: ToolFiles) -> None:
        """Make the tool directory hold exactly `files`. Each file is replaced in one rename
        and the directory is never removed on the way (a new one appears whole, in one
        rename), so a reader, which takes no lock, sees every file whole, old or new, and
        never a directory without tool.toml."""
        d = self.tool_dir(name, location)
        if d.is_symlink() or (d.exists() and not d.is_dir()):
            d.unlink()
        wanted = {TOOL_FILE: files.code, META_FILE: dump_meta(files.meta)}
        if files.tests:
            wanted[TEST_FILE] = files.tests
        # A new directory is built beside its name and renamed into place whole.
        target = d if d.is_dir() else leftover_name(d)
        for fname in (TOOL_FILE, TEST_FILE, META_FILE):  # metadata last: it names a version
            if fname in wanted:
                atomic_write_text(target / fname, wanted[fname])
        if target != d:
            os.rename(target, d)
            step()
            return
        for extra in sorted(set(os.listdir(d)) - set(wanted)):
            remove_tree(d / extra)

    def remove_tool_dir(self, name: str, location: Location) -> None:
        """Remove the directory in one rename (then delete it), so that readers find it
        whole or not at all."""
        remove_tree(self.tool_dir(name, location))

    def add_candidate(self, name: str, build: Callable[[int], ToolFiles]) -> CommitResult:
        """Write candidates/<name> as the next version; `build(version)` makes its files."""
        with self.locked():
            self._recover()
            replaced = (self.root / CANDIDATES_DIR / name).is_dir()
            files = build(self.next_version(name))
            verb = "update candidate" if replaced else "add candidate"
            return self._mutate(Change(
                action="add",
                subject=f"{verb} {name} v{files.meta.version}",
                paths=[f"{CANDIDATES_DIR}/{name}"],
                apply=lambda: self.write_tool_dir(name, CANDIDATES_DIR, files),
                tool=name,
                version=files.meta.version,
                trailers=(("Toolforge-Source", files.meta.provenance.source),),
            ))

    def promote(self, name: str, prepare: Callable[[ToolFiles, int], ToolFiles]) -> CommitResult:
        """Move the candidate into tools/ as the next version. `prepare` may refuse (raise)."""
        with self.locked():
            self._recover()
            candidate = self.read_current(name, CANDIDATES_DIR)
            version = self.next_version(name)
            files = prepare(candidate, version)
            files.meta.version = version
            files.meta.status = "active"
            active = self.find_current(name, TOOLS_DIR)
            if active is not None and active.meta.pinned:
                files.meta.pinned = True  # a pin belongs to the tool, not to one version

            def apply() -> None:
                self.write_tool_dir(name, TOOLS_DIR, files)
                self.remove_tool_dir(name, CANDIDATES_DIR)

            return self._mutate(Change(
                action="promote",
                subject=f"promote {name} v{version}",
                paths=[f"{TOOLS_DIR}/{name}", f"{CANDIDATES_DIR}/{name}"],
                apply=apply,
                tool=name,
                version=version,
                tags=(version_tag(name, version),),
            ))

    def reject(self, name: str, reason: str) -> CommitResult:
        with self.locked():
            self._recover()
            candidate = self.read_current(name, CANDIDATES_DIR)
            version = candidate.meta.version
            return self._mutate(Change(
                action="reject",
                subject=f"reject {name} v{version}: {_one_line(reason)}",
                paths=[f"{CANDIDATES_DIR}/{name}"],
                apply=lambda: self.remove_tool_dir(name, CANDIDATES_DIR),
                tool=name,
                version=version,
                trailers=(("Toolforge-Reason", _one_line(reason)),),
            ))

    def retire(self, name: str) -> CommitResult:
        with self.locked():
            self._recover()
            current = self.read_current(name, TOOLS_DIR)
            if current.meta.status == "retired":
                raise ConflictError(f"{name} is already retired",
                                    hint=f"restore it with `toolforge rollback {name}`")
            current.meta.status = "retired"
            current.meta.retired_at = now_iso()
            return self._mutate(Change(
                action="retire",
                subject=f"retire {name} v{current.meta.version}",
                paths=[f"{TOOLS_DIR}/{name}"],
                apply=lambda: self.write_tool_dir(name, TOOLS_DIR, current),
                tool=name,
                version=current.meta.version,
            ))

    def edit_meta(self, targets: list[tuple[str, Location]],
                  edit: Callable[[str, ToolFiles], bool], *, action: str, subject: str,
                  body: str = "", trailers: tuple[tuple[str, str], ...] = ()
                  ) -> CommitResult | None:
        """One commit rewriting the tool.toml of several tools: `edit(name, files)` changes
        `files.meta` in place and says whether it changed anything (None: nothing did).
        A/B trials and the curator record their decisions this way."""
        with self.locked():
            self._recover()
            changed: dict[tuple[str, Location], ToolFiles] = {}
            for name, location in targets:
                files = self.read_current(name, location)
                if edit(name, files):
                    changed[(name, location)] = files
            if not changed:
                return None

            def apply() -> None:
                for (name, location), files in changed.items():
                    self.write_tool_dir(name, location, files)

            names = sorted({name for name, _ in changed})
            return self._mutate(Change(
                action=action, subject=subject,
                paths=[f"{location}/{name}" for name, location in sorted(changed)],
                apply=apply, tool=names[0] if len(names) == 1 else None,
                version=next(iter(changed.values())).meta.version if len(names) == 1
                else None, trailers=trailers, body=body))
    def set_pinned(self, name: str, pinned: bool) -> CommitResult:
        """Pin (exempt from pruning and curation) or unpin an active or retired tool."""
        with self.locked():
            self._recover()
            current = self.read_current(name, TOOLS_DIR)
            if current.meta.pinned == pinned:
                raise ConflictError(f"{name} is already {'pinned' if pinned else 'not pinned'}",
                                    hint="nothing to change")
            current.meta.pinned = pinned
            verb = "pin" if pinned else "unpin"
            return self._mutate(Change(
                action=verb,
                subject=f"{verb} {name}",
                paths=[f"{TOOLS_DIR}/{name}"],
                apply=lambda: self.write_tool_dir(name, TOOLS_DIR, current),
                tool=name,
                version=current.meta.version,
            ))

    def rollback_tool(self, name: str, to: int | None = None) -> CommitResult:
        with self.locked():
            self._recover()
            versions = self.promoted_versions(name)
            if not versions:
                raise NotFoundError(
                    f"{name} has no promoted versions to roll back to",
                    hint="only promoted versions can be restored; see `toolforge history`",
                )
            current = self.find_current(name, TOOLS_DIR)
            if to is None:
                if current is None:
                    to = max(versions)
                else:
                    earlier = [v for v in versions if v < current.meta.version]
                    if current.meta.status == "retired":
                        earlier = [v for v in versions if v <= current.meta.version]
                    if not earlier:
                        raise ConflictError(
                            f"{name} v{current.meta.version} has no earlier version",
                            hint=f"retire it instead: `toolforge retire {name}`",
                        )
                    to = max(earlier)
            if to not in versions:
                raise NotFoundError(
                    f"{name} has no promoted version {to}",
                    hint=f"promoted versions: {', '.join(f'v{v}' for v in sorted(versions))}",
                )
            old = self.read_at(versions[to], name, TOOLS_DIR)
            new_version = self.next_version(name)
            old.meta.version = new_version
            old.meta.status = "active"
            old.meta.pinned = current.meta.pinned if current is not None else old.meta.pinned
            old.meta.created_at = now_iso()
            old.meta.provenance.restored_from = to
            old.meta.retired_at = None
            return self._mutate(Change(
                action="rollback",
                subject=f"rollback {name} to v{to} (as v{new_version})",
                paths=[f"{TOOLS_DIR}/{name}"],
                apply=lambda: self.write_tool_dir(name, TOOLS_DIR, old),
                tool=name,
                version=new_version,
                tags=(version_tag(name, new_version),),
                trailers=(("Toolforge-Restored-From", f"v{to}"),),
            ))

    def rollback_library(self, rev: str) -> CommitResult:
        with self.locked():
            self._recover()
            sha = self.git.resolve(rev)
            head = self.git.head()
            if head is None or not self._is_ancestor(sha, head):
                raise NotFoundError(
                    f"{rev} is not part of this library's history",
                    hint="pick a commit from `toolforge history`",
                )
            if sha == head:
                raise ConflictError(f"the library is already at {rev}")
            paths = sorted(
                (set(self.git.top_level_entries(head)) | set(self.git.top_level_entries(sha)))
                - {STATE_DIR}
            )
            subject_then = self.git.log(limit=1, rev=sha)[0].subject
            return self._mutate(Change(
                action="rollback-library",
                subject=f"restore library to {sha[:12]} ({_one_line(subject_then)})",
                paths=paths,
                apply=lambda: self.git.restore_paths(sha, paths),
                trailers=(("Toolforge-Restored-From", sha),),
                checks_settings=False,
            ))

    def _is_ancestor(self, ancestor: str, rev: str) -> bool:
        try:
            self.git.run("merge-base", "--is-ancestor", ancestor, rev)
        except LibraryError:
            return False
        return True


def _message(action: str, subject: str, tool: str | None, version: int | None,
             trailers: tuple[tuple[str, str], ...], body: str) -> str:
    lines = [subject, ""]
    if body:
        lines += [body.strip(), ""]
    lines.append(f"Toolforge-Action: {action}")
    if tool:
        lines.append(f"Toolforge-Tool: {tool}")
    if version is not None:
        lines.append(f"Toolforge-Version: {version}")
    lines += [f"{key}: {_one_line(value)}" for key, value in trailers]
    return "\n".join(lines) + "\n"


def _one_line(text: str, limit: int = 200) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _describe_status(code: str) -> str:
    if code == "??":
        return "untracked"
    if "D" in code:
        return "deleted"
    if "A" in code:
        return "added"
    return "modified"


def _utf8(path: Path, where: str) -> str:
    """A tool file's text from the work tree, read as a file coming in (a clone can hold a
    symlink to credentials, a FIFO, a huge file): anything but a regular UTF-8 file under
    the cap makes the tool damaged, not a read of something else, a hang or a crash.
    FileNotFoundError when it is missing."""
    from toolforge.library.incoming import read_source

    try:
        return read_source(path, what=path.name)
    except NotFoundError:
        raise FileNotFoundError(errno.ENOENT, "no such file", str(path)) from None
    except ToolforgeError as exc:  # IncomingFileError, TooLargeError
        raise ToolContractError(
            f"{where}/{path.name} {exc.message.removeprefix(str(path)).strip()}",
            hint=f"fix or restore the file: `git checkout -- {where}/{path.name}`") from None
