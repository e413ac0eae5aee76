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

import os
import threading
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from toolforge.errors import ToolforgeError
from toolforge.library.meta import ToolMeta, parse_meta
from toolforge.library.refs import blob_id
from toolforge.library.store import META_FILE, TOOL_FILE, TOOLS_DIR, version_tag
from toolforge.names import is_valid_tool_name
from toolforge.tools.contract import ToolSpec, load_tool_source
from toolforge.tools.export import mcp_tool, openai_function

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
        path = root / TOOLS_DIR / self.name / TOOL_FILE
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
        return (f"{TOOLS_DIR}/{self.name}/{TOOL_FILE} has edits that were not promoted: "
                f"running the promoted v{self.version} (tag {self.tag}); validate and promote "
                "the edit to run it")

    def drift_warning(self) -> str:
        return (f"{TOOLS_DIR}/{self.name}/{TOOL_FILE} was changed by a commit made outside "
                f"toolforge: running the promoted v{self.version} (tag {self.tag})")


@dataclass(frozen=True)
class Catalog:
    head: str | None
    tools: dict[str, ActiveTool]
    # Active in HEAD but not callable, with why (no tag, broken contract, unreadable).
    problems: dict[str, str]
    # Known tools that are not active, with their status ("retired", "candidate").
    inactive: dict[str, str]

    @property
    def complete(self) -> bool:
        """False when a promotion looked half-done (its tag not yet written): re-read soon."""
        return not any(p.startswith("no tag") for p in self.problems.values())


class CatalogReader:
    """Builds catalogs of one library, reusing what did not change since the last one."""

    def __init__(self, git: GitRepo) -> None:
        self.git = git
        self._lock = threading.Lock()
        self._reuse: dict[tuple[str, str, str], ActiveTool] = {}

    def read(self) -> Catalog:
        with self._lock:
            return self._read()

    def _read(self) -> Catalog:
        head = self.git.head()
        if head is None:
            return Catalog(head=None, tools={}, problems={}, inactive={})
        files: dict[str, dict[str, str]] = {}
        for entry in self.git.ls_tree(head, TOOLS_DIR):
            parts = entry.path.split("/")
            if len(parts) == 3 and entry.kind == "blob" and is_valid_tool_name(parts[1]):
                files.setdefault(parts[1], {})[parts[2]] = entry.sha
        metas = self.git.read_many([f[META_FILE] for f in files.values() if META_FILE in f])
        problems: dict[str, str] = {}
        inactive: dict[str, str] = {}
        wanted: dict[str, int] = {}
        for name, blobs in sorted(files.items()):
            found = metas.get(blobs.get(META_FILE, ""))
            if found is None:
                problems[name] = f"{TOOLS_DIR}/{name}/{META_FILE} is missing"
                continue
            try:
                meta = parse_meta(found[1].decode("utf-8", "replace"), f"{name}/{META_FILE}")
            except ToolforgeError as exc:
                problems[name] = exc.message
                continue
            if meta.status != "active":
                inactive[name] = meta.status
                continue
            wanted[name] = meta.version
        tools = self._load_tags(wanted, files, problems)
        self._reuse = {(t.name, t.commit, t.code_blob): t for t in tools.values()}
        return Catalog(head=head, tools=tools, problems=problems, inactive=inactive)

    def _load_tags(self, wanted: dict[str, int], files: dict[str, dict[str, str]],
                   problems: dict[str, str]) -> dict[str, ActiveTool]:
        def names(name: str, version: int) -> tuple[str, str, str]:
            ref = f"refs/tags/{version_tag(name, version)}"
            return (f"{ref}^{{commit}}", f"{ref}:{TOOLS_DIR}/{name}/{META_FILE}",
                    f"{ref}:{TOOLS_DIR}/{name}/{TOOL_FILE}")

        objects = self.git.read_many([n for name, v in wanted.items() for n in names(name, v)])
        tools: dict[str, ActiveTool] = {}
        for name, version in wanted.items():
            commit_obj, meta_obj, code_obj = (objects.get(n) for n in names(name, version))
            tag = version_tag(name, version)
            if commit_obj is None:
                problems[name] = (f"no tag {tag}: v{version} was not promoted by toolforge "
                                  "(or its promotion is still being written)")
                continue
            if meta_obj is None or code_obj is None:
                problems[name] = f"tag {tag} holds no {TOOLS_DIR}/{name}/{TOOL_FILE}"
                continue
            commit, code_blob = commit_obj[0], code_obj[0]
            head_blob = files[name].get(TOOL_FILE, "")
            reused = self._reuse.get((name, commit, code_blob))
            if reused is not None and reused.head_blob == head_blob:
                tools[name] = reused
                continue
            try:
                meta = parse_meta(meta_obj[1].decode("utf-8", "replace"), f"{tag}:{META_FILE}")
                code = code_obj[1].decode("utf-8")
                spec = load_tool_source(code)
            except (ToolforgeError, UnicodeDecodeError, RecursionError, MemoryError) as exc:
                problems[name] = f"{tag}: {getattr(exc, 'message', exc)}"
                continue
            if meta.version != version or meta.status != "active":
                problems[name] = f"tag {tag} does not hold an active v{version}"
                continue
            tools[name] = ActiveTool(name=name, version=version, tag=tag, commit=commit,
                                     code=code, code_blob=code_blob, spec=spec, meta=meta,
                                     head_blob=head_blob)
        return tools
