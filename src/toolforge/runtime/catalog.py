"""The active tools, read from git objects only: what runs is what was validated.

A tool is active when HEAD's committed `tools/<name>/tool.toml` says `status = "active"`,
version N. What runs, and what every client is shown, is the code of the tag
`tool/<name>/vN`: the commit `promote` (or `rollback`) made after validation. The working
tree is never read here, so a hand edit of an active tool changes nothing until it is
validated and promoted again; `edited()` tells whether the file on disk differs, so callers
can say so.

A catalog is built from three `git` processes whatever the library's size (a tree listing
and two batched object reads), and reused, tool by tool, while a tag's code is unchanged.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from toolforge.errors import ToolforgeError
from toolforge.library.meta import ToolMeta, parse_meta
from toolforge.library.notes import report_of_files
from toolforge.library.refs import blob_id
from toolforge.library.store import (
    CANDIDATES_DIR,
    META_FILE,
    TEST_FILE,
    TOOL_FILE,
    TOOLS_DIR,
    version_tag,
)
from toolforge.names import is_valid_tool_name
from toolforge.runtime.routing import TrialSpec
from toolforge.tools.contract import ToolSpec, load_tool_source
from toolforge.tools.export import mcp_tool, openai_function

log = logging.getLogger("toolforge.runtime")

if TYPE_CHECKING:
    from toolforge.library.gitrepo import GitRepo
    from toolforge.runtime.arguments import ArgumentChecker


@dataclass(frozen=True, eq=False)
class ActiveTool:
    """One callable tool: the promoted version's code, schema and metadata."""

    name: str
    version: int
    tag: str
    commit: str  # the tag's commit: whose blobs run
    code: str
    code_blob: str  # git object id of that tool.py
    spec: ToolSpec
    meta: ToolMeta
    head_blob: str = ""  # git object id of HEAD's committed tool.py
    location: str = TOOLS_DIR  # candidates: a new version on A/B trial (see trials)
    _edit_check: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def drift(self) -> bool:
        """HEAD's committed tool.py is not the tag's (a commit made outside toolforge)."""
        return self.head_blob != self.code_blob

    @property
    def entrypoint(self) -> str:
        return self.spec.name

    @cached_property
    def checker(self) -> ArgumentChecker:
        from toolforge.runtime.arguments import ArgumentChecker

        return ArgumentChecker(self.spec)

    @cached_property
    def result_validator(self) -> Any:
        from jsonschema import Draft202012Validator

        return Draft202012Validator(self.spec.returns_schema)

    def schema(self, *, strict: bool = False) -> dict[str, Any]:
        """OpenAI function-calling entry (what `export --format openai` prints)."""
        return openai_function(self.name, self.spec, strict=strict)

    def mcp(self) -> dict[str, Any]:
        """MCP tool definition (what `export --format mcp` and tools/list show)."""
        return mcp_tool(self.name, self.spec, self.meta)

    def edited(self, root: Path) -> bool:
        """Whether tools/<name>/tool.py on disk has uncommitted edits. A stat per call; the
        file is hashed again only when its stat changed."""
        path = root / self.location / self.name / TOOL_FILE
        try:
            st = os.stat(path)
            key: tuple[int, ...] = (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
        except OSError:
            return True
        cached = self._edit_check.get("key")
        if cached == key:
            return bool(self._edit_check["edited"])
        try:
            edited = blob_id(path.read_bytes()) != self.head_blob
        except OSError:
            edited = True
        self._edit_check.update(key=key, edited=edited)
        return edited

    def edit_warning(self) -> str:
        if self.location != TOOLS_DIR:
            return (f"{self.location}/{self.name}/{TOOL_FILE} has uncommitted edits: "
                    f"running v{self.version} as committed for its A/B trial")
        return (f"{TOOLS_DIR}/{self.name}/{TOOL_FILE} has edits that were not promoted: "
                f"running the promoted v{self.version} (tag {self.tag}); validate and promote "
                "the edit to run it")

    def drift_warning(self) -> str:
        return (f"{TOOLS_DIR}/{self.name}/{TOOL_FILE} was changed by a commit made outside "
                f"toolforge: running the promoted v{self.version} (tag {self.tag})")


class _Unvouched(Exception):
    """A candidate with a `[trial]` but no passing validation of its files."""


@dataclass(frozen=True)
class TrialArm:
    """A new version on A/B trial against the active one (routing.py)."""

    spec: TrialSpec
    tool: ActiveTool  # the candidate version, as committed in candidates/<name>


@dataclass(frozen=True)
class Catalog:
    head: str | None
    tools: dict[str, ActiveTool]
    # Active in HEAD but not callable, with why (no tag, broken contract, unreadable).
    problems: dict[str, str]
    # Known tools that are not active, with their status ("retired", "candidate").
    inactive: dict[str, str]
    # Active tools with a new version on trial.
    trials: dict[str, TrialArm] = field(default_factory=dict)
    # A `[trial]` whose candidate has no passing report yet (it may come with the notes).
    unvouched_trials: bool = False

    @property
    def complete(self) -> bool:
        """False when a promotion looked half-done (its tag not yet written) or a trial
        waits for its validation report: re-read soon."""
        return not self.unvouched_trials and \
            not any(p.startswith("no tag") for p in self.problems.values())


@dataclass(frozen=True)
class _Dir:
    """What HEAD's tools/<name> says, keyed by its tree id (unchanged tree: same answer)."""

    tree: str
    status: str | None = None  # None: unreadable (see problem)
    version: int = 0
    meta: ToolMeta | None = None
    code_blob: str = ""
    code: bytes = b""
    problem: str | None = None


class CatalogReader:
    """Builds catalogs of one library, re-reading only the tool directories whose git tree
    changed since the last one (a promotion re-reads one tool, not the library)."""

    def __init__(self, git: GitRepo) -> None:
        self.git = git
        self._lock = threading.Lock()
        self._dirs: dict[str, _Dir] = {}
        self._reuse: dict[tuple[str, str, str, str], ActiveTool] = {}
        self._by_tree: dict[tuple[str, str], ActiveTool] = {}  # (name, HEAD's tree) -> tool
        # (name, candidate tree, baseline commit) -> the arm, or None: not on trial
        self._trials: dict[tuple[str, str, str], TrialArm | None] = {}
        self._warned: set[tuple[str, str]] = set()  # (name, code blob): said once

    def read(self) -> Catalog:
        with self._lock:
            return self._read()

    def _read(self) -> Catalog:
        head = self.git.head()
        if head is None:
            return Catalog(head=None, tools={}, problems={}, inactive={})
        trees = {e.path.split("/", 1)[1]: e.sha
                 for e in self.git.ls_tree(head, TOOLS_DIR, recursive=False)
                 if e.kind == "tree" and is_valid_tool_name(e.path.split("/", 1)[1])}
        self._dirs = self._read_dirs(trees)
        problems: dict[str, str] = {}
        inactive: dict[str, str] = {}
        wanted: dict[str, _Dir] = {}
        for name, info in sorted(self._dirs.items()):
            if info.problem is not None:
                problems[name] = info.problem
            elif info.status != "active":
                inactive[name] = str(info.status)
            else:
                wanted[name] = info
        # A tool whose directory did not change keeps its tag's reading: tags are written
        # once, by promote and rollback (a tag moved by hand is seen when the tool changes).
        tools = {name: tool for name, info in wanted.items()
                 if (tool := self._by_tree.get((name, info.tree))) is not None}
        tools.update(self._load_tags({n: i for n, i in wanted.items() if n not in tools},
                                     problems))
        self._reuse = {(t.name, t.commit, t.code_blob, t.head_blob): t for t in tools.values()}
        self._by_tree = {(name, wanted[name].tree): tool for name, tool in tools.items()}
        trials, unvouched = self._read_trials(head, tools)
        return Catalog(head=head, tools=dict(sorted(tools.items())), problems=problems,
                       inactive=inactive, trials=trials, unvouched_trials=unvouched)

    def _read_trials(self, head: str, tools: dict[str, ActiveTool]
                     ) -> tuple[dict[str, TrialArm], bool]:
        """Candidates of active tools whose tool.toml has a `[trial]` against the active
        version, and whether one waits for its report. Read again only for a candidate
        directory whose tree changed."""
        trees = {e.path.split("/", 1)[1]: e.sha
                 for e in self.git.ls_tree(head, CANDIDATES_DIR, recursive=False)
                 if e.kind == "tree" and e.path.split("/", 1)[1] in tools}
        keys = {name: (name, tree, tools[name].commit) for name, tree in trees.items()}
        fresh = [name for name, key in keys.items() if key not in self._trials]
        objects = self.git.read_many([f"{trees[n]}:{f}" for n in fresh
                                      for f in (META_FILE, TOOL_FILE, TEST_FILE)])
        known = {key: self._trials[key] for key in keys.values() if key in self._trials}
        unvouched = False
        for name in fresh:
            tests = objects.get(f"{trees[name]}:{TEST_FILE}")
            try:
                known[keys[name]] = self._trial_arm(
                    head, name, tools[name], objects.get(f"{trees[name]}:{META_FILE}"),
                    objects.get(f"{trees[name]}:{TOOL_FILE}"), tests[1] if tests else b"")
            except _Unvouched:
                unvouched = True  # not remembered: its report may still come with notes
        self._trials = known
        return {name: arm for name, key in sorted(keys.items())
                if (arm := known.get(key)) is not None}, unvouched

    def _trial_arm(self, head: str, name: str, active: ActiveTool,
                   meta_obj: tuple[str, bytes] | None, code_obj: tuple[str, bytes] | None,
                   tests: bytes) -> TrialArm | None:
        if meta_obj is None or code_obj is None:
            return None
        from pydantic import ValidationError

        try:
            meta = parse_meta(meta_obj[1].decode("utf-8", "replace"),
                              f"{CANDIDATES_DIR}/{name}/{META_FILE}")
            raw = (meta.model_extra or {}).get("trial")
            if not isinstance(raw, dict):
                return None
            spec = TrialSpec.model_validate(raw)
            if spec.baseline != active.version:
                return None  # a trial against a version that is no longer active
            tool_spec = load_tool_source(code_obj[1].decode("utf-8"))
            # Only a candidate whose exact files passed validation serves trial calls
            # (what `trials start` checked): a `[trial]` committed by hand or pushed by
            # another clone never makes unvalidated code run.
            report = report_of_files(self.git, name, code_obj[1].decode("utf-8"),
                                     tests.decode("utf-8"))
            if report is None or report.verdict != "passed":
                if (name, code_obj[0]) not in self._warned:
                    self._warned.add((name, code_obj[0]))
                    log.warning("%s v%s has a [trial] but no passing validation of its "
                                "files: the active version serves every call", name,
                                meta.version)
                raise _Unvouched
        except (ToolforgeError, ValidationError, UnicodeDecodeError, RecursionError,
                MemoryError, sqlite3.DatabaseError):
            return None  # a broken candidate never serves calls: the active version does
        # The commit that last changed the candidate (its trial start): whose blobs run.
        commit = self.git.run("log", "-1", "--format=%H", head, "--",
                              f"{CANDIDATES_DIR}/{name}").strip() or head
        tool = ActiveTool(name=name, version=meta.version, tag="", commit=commit,
                          code=code_obj[1].decode("utf-8"), code_blob=code_obj[0],
                          spec=tool_spec, meta=meta, head_blob=code_obj[0],
                          location=CANDIDATES_DIR)
        return TrialArm(spec=spec, tool=tool)

    def _read_dirs(self, trees: dict[str, str]) -> dict[str, _Dir]:
        known = {name: self._dirs[name] for name, tree in trees.items()
                 if name in self._dirs and self._dirs[name].tree == tree}
        fresh = [name for name in trees if name not in known]
        objects = self.git.read_many([f"{trees[n]}:{f}" for n in fresh
                                      for f in (META_FILE, TOOL_FILE)])
        for name in fresh:
            tree = trees[name]
            meta_obj, code_obj = objects.get(f"{tree}:{META_FILE}"), \
                objects.get(f"{tree}:{TOOL_FILE}")
            where = f"{TOOLS_DIR}/{name}"
            if meta_obj is None or code_obj is None:
                missing = META_FILE if meta_obj is None else TOOL_FILE
                known[name] = _Dir(tree, problem=f"{where}/{missing} is missing")
                continue
            try:
                meta = parse_meta(meta_obj[1].decode("utf-8", "replace"), f"{where}/{META_FILE}")
            except ToolforgeError as exc:
                known[name] = _Dir(tree, problem=exc.message)
                continue
            known[name] = _Dir(tree, status=meta.status, version=meta.version, meta=meta,
                               code_blob=code_obj[0], code=code_obj[1])
        return known

    def _load_tags(self, wanted: dict[str, _Dir], problems: dict[str, str]
                   ) -> dict[str, ActiveTool]:
        def ref(name: str) -> str:
            return f"refs/tags/{version_tag(name, wanted[name].version)}"

        # The tag's commit, and its tools/<name> tree: the same tree as HEAD's (the usual
        # case) means the same files, so nothing more needs reading.
        found = self.git.read_many([n for name in wanted for n in (
            f"{ref(name)}^{{commit}}", f"{ref(name)}:{TOOLS_DIR}/{name}")])
        differing = [name for name in wanted
                     if (tree := found.get(f"{ref(name)}:{TOOLS_DIR}/{name}")) is not None
                     and tree[0] != wanted[name].tree]
        tag_files = self.git.read_many([f"{ref(n)}:{TOOLS_DIR}/{n}/{f}" for n in differing
                                        for f in (META_FILE, TOOL_FILE)])
        tools: dict[str, ActiveTool] = {}
        for name, info in wanted.items():
            tag = version_tag(name, info.version)
            commit_obj = found.get(f"{ref(name)}^{{commit}}")
            tree_obj = found.get(f"{ref(name)}:{TOOLS_DIR}/{name}")
            if commit_obj is None:
                problems[name] = (f"no tag {tag}: v{info.version} was not promoted by "
                                  "toolforge (or its promotion is still being written)")
                continue
            if tree_obj is None:
                problems[name] = f"tag {tag} holds no {TOOLS_DIR}/{name}"
                continue
            meta, code, code_blob = info.meta, info.code, info.code_blob
            if name in differing:
                meta_obj = tag_files.get(f"{ref(name)}:{TOOLS_DIR}/{name}/{META_FILE}")
                code_obj = tag_files.get(f"{ref(name)}:{TOOLS_DIR}/{name}/{TOOL_FILE}")
                if meta_obj is None or code_obj is None:
                    problems[name] = f"tag {tag} holds no {TOOLS_DIR}/{name}/{TOOL_FILE}"
                    continue
                try:
                    meta = parse_meta(meta_obj[1].decode("utf-8", "replace"),
                                      f"{tag}:{META_FILE}")
                except ToolforgeError as exc:
                    problems[name] = f"{tag}: {exc.message}"
                    continue
                code, code_blob = code_obj[1], code_obj[0]
            assert meta is not None
            commit = commit_obj[0]
            reused = self._reuse.get((name, commit, code_blob, info.code_blob))
            if reused is not None:
                tools[name] = reused
                continue
            try:
                source = code.decode("utf-8")
                spec = load_tool_source(source)
            except (ToolforgeError, UnicodeDecodeError, RecursionError, MemoryError) as exc:
                problems[name] = f"{tag}: {getattr(exc, 'message', exc)}"
                continue
            if meta.version != info.version or meta.status != "active":
                problems[name] = f"tag {tag} does not hold an active v{info.version}"
                continue
            tools[name] = ActiveTool(name=name, version=info.version, tag=tag, commit=commit,
                                     code=source, code_blob=code_blob, spec=spec, meta=meta,
                                     head_blob=info.code_blob)
        return tools
