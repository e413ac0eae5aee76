"""The one service layer: every client (CLI, daemon, TUI, Python API) calls these methods.

Methods take and return plain data (pydantic models), so the daemon can expose them
unchanged over HTTP and `--no-daemon` runs exactly the same code in-process.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from toolforge import pyast
from toolforge.errors import (
    ConflictError,
    IncomingFileError,
    LockTimeoutError,
    NoSpaceError,
    NotFoundError,
    ReadOnlyError,
    StateDamagedError,
    ToolContractError,
    ToolforgeError,
    UsageError,
    ValidationFailedError,
)
from toolforge.library.gitrepo import LogEntry
from toolforge.library.incoming import check_source_text, read_optional_source
from toolforge.library.meta import (
    Provenance,
    ToolMeta,
    ValidationSummary,
    check_presentation,
    dump_meta,
    now_iso,
    presentation_from_toml,
)
from toolforge.library.store import (
    CANDIDATES_DIR,
    META_FILE,
    TEST_FILE,
    TOOL_FILE,
    TOOLS_DIR,
    CommitResult,
    Library,
    Location,
    ToolEntry,
    ToolFiles,
    version_tag,
)
from toolforge.names import validate_tool_name, validate_version, version_number
from toolforge.service.models import (
    ActionResult,
    DiffResult,
    FileDiff,
    HistoryItem,
    HistoryResult,
    ImportReport,
    InitResult,
    ListResult,
    SettingNote,
    StatusFilter,
    ToolDetail,
    ToolSummary,
    UsageReport,
    VersionInfo,
)
from toolforge.tools.contract import ToolSpec, load_tool_source
from toolforge.tools.export import export_tools

if TYPE_CHECKING:
    import threading
    from collections.abc import Callable

    from toolforge.config.effective import EffectiveSettings
    from toolforge.library.remote import RemoteInfo, SyncResult
    from toolforge.runtime.results import ToolCallResult
    from toolforge.runtime.runtime import Runtime
    from toolforge.sandbox.pool import WarmPool
    from toolforge.validation.pipeline import ValidationOptions
    from toolforge.validation.report import ReportStore, ValidationReport


def init_library(path: Path, from_dir: Path | None = None, *,
                 progress: Callable[[str, int, int], None] | None = None) -> InitResult:
    """Create a library; with `from_dir`, import a library-format directory (no .git needed)
    through the ordinary add/promote/retire actions, so its history is real.

    Idempotent: on an existing library, --from imports only what is not there yet (a run
    that was interrupted finishes), and never overwrites a tool the library already has.
    Every setting is checked before anything is written: the user's own settings, and the
    imported toolforge.toml, whose settings a library may not choose are reported in
    `InitResult.settings` (and left out of the new library's file when they can never
    apply)."""
    from toolforge.config.effective import effective_settings

    effective_settings(None)  # a broken user config or environment: create nothing
    if from_dir is not None:
        _check_import_source(from_dir)
        import_settings(from_dir)  # a malformed toolforge.toml: create nothing
    lib, created = Library.init(path)
    notes: list[SettingNote] = []
    try:
        report = ImportReport()
        if from_dir is not None:
            lib.close()
            svc = LibraryService(path)
            try:
                report = svc.import_directory(from_dir, progress=progress)
            finally:
                svc.close()
            notes = report.settings
        return InitResult(library=str(path), created=created, commit=lib.git.head(),
                          imported=report.imported, skipped=report.skipped, settings=notes)
    finally:
        lib.close()


def _check_import_source(from_dir: Path) -> None:
    from toolforge.library.settings import SETTINGS_FILE

    _refuse_linked_dirs(from_dir)
    if not os.path.lexists(from_dir / SETTINGS_FILE):  # a link is refused when read
        raise NotFoundError(f"{from_dir} has no {SETTINGS_FILE}",
                            hint="--from takes a library directory (toolforge.toml, tools/, "
                            "candidates/)")


def _refuse_linked_dirs(src: Path) -> None:
    """tools/ and candidates/ of an imported library are read only as directories: through
    a symlink they could be any directory of the user's."""
    for location in (TOOLS_DIR, CANDIDATES_DIR):
        if (src / location).is_symlink():
            raise IncomingFileError(f"{src / location} is a symbolic link: refusing to "
                                    "follow it", hint="copy the directory itself")


def import_settings(src: Path) -> tuple[str, list[SettingNote]]:
    """The toolforge.toml to write for a library imported from `src`, and what happened to
    each setting a library may not choose: "dropped" (left out: it is the user's alone) or
    "refused" (kept as the library's request; it applies once the user allows it).
    ConfigError for an unknown key or a bad value, before anything is written."""
    import tomllib

    import tomlkit

    from toolforge.config.effective import combine
    from toolforge.config.strict import parse_toml
    from toolforge.config.user import load_user_config
    from toolforge.library.incoming import read_source
    from toolforge.library.settings import SETTINGS_FILE, parse_settings

    path = src / SETTINGS_FILE
    # read once, as a file coming in: a symlink (to credentials, say) is refused, not copied
    text = read_source(path, what=SETTINGS_FILE)
    library = parse_settings(parse_toml(text, path), path)  # clear errors for bad keys
    effective = combine(library, load_user_config(), os.environ, library_file=path)
    doc = tomlkit.parse(text)
    dropped = [r for r in effective.refused if r.dropped]
    for refusal in dropped:
        _remove_key(doc, refusal.key.split("."))
    if "llm" in doc:  # models, endpoints and keys are the user's: no [llm] table at all
        del doc["llm"]
    if dropped:
        doc.body.insert(0, (None, tomlkit.comment(
            "toolforge init --from left out settings a library may not choose: "
            + ", ".join(sorted({r.key for r in dropped})))))
    clean = tomlkit.dumps(doc)
    parse_settings(tomllib.loads(clean), path)
    notes = [SettingNote(key=r.key, value=r.value, reason=r.reason, fix=r.fix,
                         action="dropped" if r.dropped else "refused")
             for r in effective.refused]
    return clean, notes


def _remove_key(doc: Any, parts: list[str]) -> None:
    table = doc
    for part in parts[:-1]:
        if part not in table:
            return
        table = table[part]
    if parts[-1] in table:
        del table[parts[-1]]


class LibraryService:
    def __init__(self, root: Path, *, warm_runtime: bool = False) -> None:
        self.root = root
        self.library = Library.open(root)
        # Every mutation checks the whole configuration first: a broken setting commits
        # nothing (not even the step before the one that would have read it).
        self.library.preflight = self.settings
        self._reports: ReportStore | None = None
        # A tool's commits, newest first, when something keeps them (the daemon); None
        # from it means "ask git".
        self.history_source: Callable[[str, int | None], list[LogEntry] | None] | None = None
        # Warm sandboxes for validations, owned by whoever runs many of them (the daemon's
        # pool, given as the function that makes it on first use; an evolution cycle's);
        # None: each validation starts its sandboxes cold.
        self.sandbox_pool: WarmPool | Callable[[], WarmPool] | None = None
        self._runtime: Runtime | None = None
        self._shared_runtime: Callable[[], Runtime] | None = None
        # A one-shot command calls once: pre-starting spare sandboxes would only cost CPU.
        self._warm_runtime = warm_runtime
        self.library.after_commit = self._publish

    def settings(self) -> EffectiveSettings:
        """What applies: the library's toolforge.toml within the user's settings, read
        strictly (ConfigError names the key and the file)."""
        from toolforge.config.effective import effective_settings

        return effective_settings(self.root)

    @property
    def reports(self) -> ReportStore:
        if self._reports is None:
            from toolforge.validation.report import REPORTS_DB, ReportStore

            self._reports = ReportStore(self.library.state_dir / REPORTS_DB)
        return self._reports

    def close(self) -> None:
        if self._runtime is not None:
            self._runtime.close()
            self._runtime = None
        self.library.close()

    # --- the runtime ----------------------------------------------------------------------------

    def share_runtime(self, provider: Callable[[], Runtime]) -> None:
        """Use a runtime owned elsewhere (the daemon's), so calls share one set of warm
        sandboxes and one usage recorder."""
        self._shared_runtime = provider

    @property
    def runtime(self) -> Runtime:
        """The runtime that runs this library's tools (see toolforge.runtime)."""
        if self._shared_runtime is not None:
            return self._shared_runtime()
        if self._runtime is None:
            from toolforge.runtime.runtime import Runtime

            options = self.validation_options()
            self._runtime = Runtime(self.root, limits=options.limits, backend=options.backend,
                                    access=options.access, warm=self._warm_runtime)
        return self._runtime

    def call_tool(self, name: str, arguments: dict[str, Any] | None = None, *,
                  caller: str = "cli", session: str | None = None,
                  timeout_s: float | None = None) -> ToolCallResult:
        """Call an active tool (its promoted code, in the sandbox). An unknown tool or bad
        arguments raise (UnknownToolError, BadArgumentsError); a call that ran and failed
        is a result with `ok = False` and the error's kind."""
        validate_tool_name(name)
        result = self.runtime.call(name, arguments, caller=caller, session=session,
                                   timeout_s=timeout_s)
        return result.raise_for_request_error()

    def usage(self, name: str | None = None, since: float | None = None) -> UsageReport:
        """Calls per tool and version: count, errors, latency, callers, outcomes."""
        from toolforge.metrics.usage import UsageStore

        if name is not None:
            validate_tool_name(name)
        if self._shared_runtime is not None or self._runtime is not None:
            self.runtime.flush_usage()  # calls still buffered here are part of the answer
        rows = UsageStore.for_library(self.root).stats(name, since=since)
        return UsageReport.from_stats(str(self.root), rows, since)

    # --- reads ------------------------------------------------------------------------------

    def list_tools(self, status: StatusFilter = "all") -> ListResult:
        self.library.try_recover()
        if status == "rejected":
            return ListResult(library=str(self.root), tools=self.rejected())
        warnings: list[str] = []
        tools: list[ToolSummary] = []
        for entry in self.library.entries():
            summary = self._summarize(entry, warnings)
            if status != "all" and summary.status != status:
                continue
            tools.append(summary)
        return ListResult(library=str(self.root), tools=tools, warnings=warnings)

    def rejected(self, limit: int = 200) -> list[ToolSummary]:
        """Candidates rejected in the past (newest first, one row per tool and version),
        read from the history: their files are in the commit before the rejection."""
        rows: list[ToolSummary] = []
        seen: set[tuple[str, int]] = set()
        for e in self.library.git.log(limit=limit, grep=REJECT_GREP):
            name = e.trailers.get("Toolforge-Tool", "")
            version = e.trailers.get("Toolforge-Version", "")
            number = version_number(version)
            if not name or number is None or (name, number) in seen:
                continue
            seen.add((name, number))
            try:
                files = self.library.read_at(f"{e.commit}^", name, CANDIDATES_DIR)
            except ToolforgeError:
                continue  # not a candidate directory then: nothing to show
            row = _summary(files.meta, CANDIDATES_DIR)
            row.status, row.verdict = "rejected", None
            row.created_at, row.commit = e.date, e.commit
            row.reason = e.trailers.get("Toolforge-Reason")
            rows.append(row)
        return rows

    def tool_summary(self, name: str, location: str, warnings: list[str] | None = None
                     ) -> ToolSummary | None:
        """One row of `list_tools` (None when the tool directory is gone): what the daemon's
        index re-reads for a tool that changed."""
        if location not in (TOOLS_DIR, CANDIDATES_DIR) or \
                not (self.root / location / name).is_dir():
            return None
        loc: Location = TOOLS_DIR if location == TOOLS_DIR else CANDIDATES_DIR
        return self._summarize(self.library.entry(name, loc), warnings)

    def _summarize(self, entry: ToolEntry, warnings: list[str] | None) -> ToolSummary:
        meta = entry.meta
        if meta is None:
            return ToolSummary(tool=entry.name, status="broken", location=entry.location,
                               problem=entry.problem)
        summary = _summary(meta, entry.location)
        if entry.location == CANDIDATES_DIR:
            # Only a report of exactly its files speaks for a candidate: a `[validation]`
            # table in its committed tool.toml is whatever its author wrote.
            try:
                summary.verdict = self.candidate_verdict(entry.name, warnings)
            except ToolforgeError as exc:  # its files cannot be read: this row only
                return ToolSummary(tool=entry.name, status="broken", location=entry.location,
                                   problem=exc.message)
        return summary

    def candidate_verdict(self, name: str, warnings: list[str] | None = None) -> str | None:
        """A candidate's verdict is its latest report of exactly its current files;
        "stale" when it was validated but has changed since. Reports come from the local
        store, else from the notes that came with the library (validated on another clone).
        A damaged reports database costs the verdict, never the listing: it is named in
        `warnings`."""
        from toolforge.validation.report import REPORTS_DB

        files = self.library.find_current(name, CANDIDATES_DIR)
        if files is None:
            return None
        path = self.library.state_dir / REPORTS_DB
        try:
            report = self.report_for(name, files, create_store=False)
            if report is not None:
                return report.verdict
            return "stale" if path.is_file() and self.reports.latest(name) is not None \
                else None
        except (StateDamagedError, LockTimeoutError) as exc:
            note = f"{exc.message}; verdicts are not shown"
            if warnings is not None and note not in warnings:
                warnings.append(note)
            return None

    def report_for(self, name: str, files: ToolFiles, *, create_store: bool = True
                   ) -> ValidationReport | None:
        """The latest report of exactly these files: from the local store, else from the
        notes that came with the library (a report validated on another clone), which is
        then kept in the local store."""
        from toolforge.library.notes import noted_reports
        from toolforge.validation.report import REPORTS_DB, files_hash

        if create_store or (self.library.state_dir / REPORTS_DB).is_file():
            report = self.reports.latest(name, files_hash(files.code, files.tests))
            if report is not None:
                return report
        # A note vouches only for the exact files it names (re-checked against these).
        noted = noted_reports(self.library.git, name, files.code, files.tests)
        if not noted:
            return None
        try:
            for report in noted:
                self.reports.save(report)
        except (ReadOnlyError, NoSpaceError, LockTimeoutError, StateDamagedError):
            pass  # only a cache of the notes: a read-only library still reads them
        return noted[0]

    def save_report(self, report: ValidationReport, code: str) -> None:
        """Store a report, and note it on the code's blob so that it travels with the
        library (library/notes.py): candidates validated here can be promoted on a clone."""
        from toolforge.library.notes import attach_report

        self.reports.save(report)
        if report.location != CANDIDATES_DIR:
            return
        with self.library.locked():
            if attach_report(self.library.git, report, code):
                self._publish_notes()

    def show(self, name: str, version: str | int | None = None) -> ToolDetail:
        validate_tool_name(name)
        lib = self.library
        lib.try_recover()
        versions = lib.promoted_versions(name)
        if version is None:
            files = lib.find_current(name, TOOLS_DIR)
            location = TOOLS_DIR
            if files is None:
                files = lib.find_current(name, CANDIDATES_DIR)
                location = CANDIDATES_DIR
            if files is None:
                raise NotFoundError(f"no tool named {name!r}",
                                    hint="see `toolforge list --status all`")
        else:
            files, location = self._resolve_version(name, version, versions)
        rejected = str(version).strip().lower() == "rejected"
        spec, spec_error = _try_spec(files.code)
        edits = lib.hand_edits([f"{TOOLS_DIR}/{name}", f"{CANDIDATES_DIR}/{name}"])
        return ToolDetail(
            tool=name,
            status="rejected" if rejected else files.meta.status,
            version=files.meta.version,
            location=location,
            meta=files.meta.model_dump(mode="json", exclude_none=True),
            code=files.code,
            tests=files.tests,
            signature=spec.signature if spec else None,
            parameters_schema=spec.parameters_schema if spec else None,
            spec_error=spec_error,
            versions=[VersionInfo(version=v, commit=c, tag=version_tag(name, v))
                      for v, c in sorted(versions.items())],
            history=[_history_item(e) for e in self._tool_history(name, 50)],
            has_candidate=(lib.root / CANDIDATES_DIR / name).is_dir(),
            hand_edits=[f"{path} ({code.strip() or '?'})" for code, path in edits],
        )

    def history(self, name: str | None = None, limit: int = 50) -> HistoryResult:
        entries = self.library.history(None, limit=limit) if name is None \
            else self._tool_history(name, limit)
        return HistoryResult(tool=name, entries=[_history_item(e) for e in entries])

    def _tool_history(self, name: str, limit: int | None) -> list[LogEntry]:
        validate_tool_name(name)
        if self.history_source is not None:  # the daemon's index (daemon/histindex.py)
            entries = self.history_source(name, limit)
            if entries is not None:
                return entries
        return self.library.history(name, limit=limit)

    def diff(self, name: str, a: str | int | None = None, b: str | int | None = None) -> DiffResult:
        """Unified diff between two versions of a tool.

        No versions: the candidate against the active version (or, with no candidate, the
        active version against the one promoted before it). One version: that version
        against the current one."""
        validate_tool_name(name)
        lib = self.library
        versions = lib.promoted_versions(name)
        has_candidate = (lib.root / CANDIDATES_DIR / name).is_dir()
        has_active = (lib.root / TOOLS_DIR / name).is_dir()
        if b is None:
            b = "candidate" if has_candidate else "active"
        if a is None:
            if b == "candidate" and has_active:
                a = "active"
            else:
                b_files, _ = self._resolve_version(name, b, versions)
                earlier = [v for v in versions if v < b_files.meta.version]
                if not earlier:
                    raise NotFoundError(
                        f"{name} has only one version; nothing to compare",
                        hint=f"`toolforge show {name}` prints it",
                    )
                a = max(earlier)
        a_files, _ = self._resolve_version(name, a, versions)
        b_files, _ = self._resolve_version(name, b, versions)
        a_label, b_label = _label(a, a_files), _label(b, b_files)
        files = []
        for fname, left, right in (
            (TOOL_FILE, a_files.code, b_files.code),
            (TEST_FILE, a_files.tests, b_files.tests),
            (META_FILE, _meta_text(a_files), _meta_text(b_files)),
        ):
            text = "".join(difflib.unified_diff(
                left.splitlines(keepends=True), right.splitlines(keepends=True),
                fromfile=f"{a_label}/{fname}", tofile=f"{b_label}/{fname}",
            ))
            if text:
                files.append(FileDiff(path=fname, diff=text))
        return DiffResult(tool=name, a=a_label, b=b_label, files=files)

    def export(self, fmt: str, strict: bool = False) -> Any:
        """The active tools as agents see them: what the runtime runs (the promoted tags'
        code), never uncommitted edits."""
        if fmt not in ("openai", "mcp"):
            raise UsageError(f"unknown export format {fmt!r}", hint="use --format openai|mcp")
        if strict and fmt != "openai":
            raise UsageError("--strict applies to --format openai only",
                             hint="MCP has no strict mode")
        active = self.runtime.active()
        return export_tools({n: t.spec for n, t in active.items()}, fmt, strict=strict,
                            metas={n: t.meta for n, t in active.items()})

    def active_specs(self) -> dict[str, ToolSpec]:
        """Specs of the active tools, as promoted (see `export`)."""
        return {name: tool.spec for name, tool in self.runtime.active().items()}

    # --- mutations --------------------------------------------------------------------------

    def import_directory(self, src: Path, *,
                         progress: Callable[[str, int, int], None] | None = None
                         ) -> ImportReport:
        """Bring tools from a library-format directory in: tools/ are added and promoted
        (retired ones retired again), candidates/ are added. What the library has already
        (the same files) is skipped, and a tool it has in another version is kept as is."""
        # Checked before anything is written; settings the library may not choose are
        # left out or kept as requests, and reported either way.
        settings_text, notes = import_settings(src)
        report = ImportReport(settings=notes)
        self._import_settings(settings_text, src.name, report)
        # Directories only, never through a symlink; each file is read as `add` reads one
        # (a symlinked test_tool.py pointing at credentials is refused, not copied).
        _refuse_linked_dirs(src)
        todo = [(location, d) for location in (TOOLS_DIR, CANDIDATES_DIR)
                if (src / location).is_dir()
                for d in sorted(p for p in (src / location).iterdir()
                                if p.is_dir() and not p.is_symlink()
                                and os.path.lexists(p / TOOL_FILE))]
        for i, (location, d) in enumerate(todo):
            if progress is not None:
                progress(d.name, i, len(todo))
            self._import_tool(src, location, d, report)
        if progress is not None and todo:
            progress("done", len(todo), len(todo))
        return report

    def _import_settings(self, text: str, source: str, report: ImportReport) -> None:
        from toolforge.library.settings import DEFAULT_SETTINGS_TOML, SETTINGS_FILE
        from toolforge.library.store import Change

        lib = self.library
        current = (lib.root / SETTINGS_FILE).read_text(encoding="utf-8")
        if current == text:
            report.skipped.append(f"{SETTINGS_FILE}: already imported")
            return
        if current != DEFAULT_SETTINGS_TOML:
            report.skipped.append(f"{SETTINGS_FILE}: kept the library's own settings")
            return

        def write_settings() -> None:
            (lib.root / SETTINGS_FILE).write_text(text, encoding="utf-8")

        dropped = [n.key for n in report.settings if n.action == "dropped"]
        lib.mutate(Change(
            action="settings", subject=f"import settings from {source}",
            paths=[SETTINGS_FILE], apply=write_settings,
            body=f"Left out (the user's to choose): {', '.join(dropped)}" if dropped else ""))
        report.imported.append(SETTINGS_FILE)

    def _import_tool(self, src: Path, location: str, d: Path, report: ImportReport) -> None:
        name = d.name
        code = read_optional_source(d / TOOL_FILE)
        tests = read_optional_source(d / TEST_FILE)
        active = self.library.find_current(name, TOOLS_DIR)
        candidate = self.library.find_current(name, CANDIDATES_DIR)
        same = lambda f: f is not None and (f.code, f.tests) == (code, tests)  # noqa: E731
        retired = location == TOOLS_DIR and \
            'status = "retired"' in read_optional_source(d / META_FILE)
        if same(active):
            assert active is not None
            if retired and active.meta.status != "retired":  # interrupted before retiring
                self.retire(name)
                report.imported.append(name)
            else:
                report.skipped.append(f"{name}: already in the library")
            return
        if location == CANDIDATES_DIR:
            if same(candidate):
                report.skipped.append(f"{name}: already a candidate")
            elif candidate is not None or active is not None:
                report.skipped.append(f"{name}: kept the library's own version")
            else:
                origin = f"{src.name}/{location}/{name}"
                self.add(code, tests, name=name, origin=origin, **_presentation(d, origin))
                report.imported.append(name)
            return
        if active is not None or (candidate is not None and not same(candidate)):
            report.skipped.append(f"{name}: kept the library's own version")
            return
        if candidate is None:  # else: an interrupted import added it; finish the job
            self.add(code, tests, name=name, origin=f"{src.name}/{location}/{name}",
                     **_presentation(d, f"{src.name}/{location}/{name}"))
        try:
            self.promote(name)
        except ValidationFailedError:
            self.validate(name)
            self.promote(name)
        if retired:
            self.retire(name)
        report.imported.append(name)

    def add(
        self,
        code: str,
        tests: str = "",
        *,
        name: str | None = None,
        origin: str | None = None,
        provenance: dict[str, Any] | None = None,
        validate: bool = True,
        title: str | None = None,
        annotations: dict[str, Any] | None = None,
        meta: dict[str, Any] | None = None,
    ) -> ActionResult:
        """Import a tool as a candidate (the contract is checked before anything is written),
        then validate it; the report is stored and returned in `details["validation"]`.
        `title` and `annotations` (MCP hints such as read_only) go into its tool.toml, and so
        does `meta` (`made_for`, `split_from`: set by the TTE loop)."""
        check_source_text(code, TOOL_FILE)
        check_source_text(tests, TEST_FILE)
        spec = load_tool_source(code)
        tool_name = validate_tool_name(spec.name if name is None else name)
        if tests:
            _check_test_source(tests)
        prov = Provenance.model_validate({"source": "manual", "origin": origin,
                                          **(provenance or {})})
        shown_title, hints = check_presentation(title, annotations)
        extra = _extra_meta(meta)

        def build(version: int) -> ToolFiles:
            tool_meta = ToolMeta(name=tool_name, version=version, status="candidate",
                            description=spec.summary, entrypoint=spec.name,
                            signature=spec.signature, provenance=prov, title=shown_title,
                            annotations=hints, **extra)
            return ToolFiles(meta=tool_meta, code=code, tests=tests)

        result = self.library.add_candidate(tool_name, build)
        warnings = list(result.warnings)
        if not tests:
            warnings.append("no test_tool.py: validation will fail until tests exist")
        details: dict[str, Any] = {}
        if validate:
            report = self.validate(tool_name)
            details["validation"] = report.model_dump(mode="json")
            if report.verdict != "passed":
                warnings.append(f"validation failed: {report.failure_summary()}")
        return ActionResult(action="add", tool=tool_name, version=result.version,
                            commit=result.commit, subject=result.subject, warnings=warnings,
                            details=details)

    def promote(self, name: str, *, allow_unisolated: bool = False) -> ActionResult:
        """Promote the candidate; its latest validation must have passed on exactly these
        files, with an isolating sandbox unless `allow_unisolated` (the flag, or
        `allow_unisolated = true` in the user config; recorded either way)."""
        validate_tool_name(name)
        if not (self.root / CANDIDATES_DIR / name).is_dir():
            active = self.library.find_current(name, TOOLS_DIR)
            if active is not None and active.meta.status == "active":
                raise ConflictError(
                    f"{name} is already active (v{active.meta.version}); there is no "
                    "candidate to promote",
                    hint=f"`toolforge add` a new version first; `toolforge show {name}` "
                    "shows the active one")
        allow_unisolated = allow_unisolated or self.settings().allow_unisolated

        def prepare(candidate: ToolFiles, version: int) -> ToolFiles:
            spec, err = _try_spec(candidate.code)
            if spec is None:
                raise ConflictError(f"candidate {name} breaks the tool contract: {err}",
                                    hint="fix it and `toolforge add` it again")
            report = self._promotable_report(name, candidate, allow_unisolated)
            candidate.meta.promoted_at = now_iso()
            candidate.meta.validation = ValidationSummary(
                verdict=report.verdict, backend=report.backend, isolated=report.isolated,
                tests_passed=report.tests_passed, tests_total=report.tests_total,
                report_id=report.id, validated_at=report.created_at,
            )
            if not report.isolated:
                candidate.meta.provenance.allow_unisolated = True
            return candidate

        result = self.library.promote(name, prepare)
        return ActionResult(action="promote", tool=name, version=result.version,
                            commit=result.commit, subject=result.subject, tags=result.tags,
                            warnings=result.warnings)

    def check_promotable(self, name: str, *, allow_unisolated: bool = False
                         ) -> ValidationReport:
        """The report that lets candidate `name` be promoted (or put on an A/B trial):
        ValidationFailedError saying why when there is none."""
        validate_tool_name(name)
        return self._promotable_report(name, self.library.read_current(name, CANDIDATES_DIR),
                                       allow_unisolated)

    def _promotable_report(self, name: str, candidate: ToolFiles,
                           allow_unisolated: bool) -> ValidationReport:
        report = self.report_for(name, candidate)
        if report is None:
            stale = self.reports.latest(name) is not None
            raise ValidationFailedError(
                f"candidate {name} v{candidate.meta.version} has "
                + ("changed since its last validation" if stale else "not been validated"),
                hint=f"run `toolforge validate {name}` first",
            )
        if report.verdict == "inconclusive":
            attack = report.layer("property")
            ran = attack.stats.get("examples_run", "?") if attack else "?"
            needed = attack.stats.get("min_examples", "?") if attack else "?"
            raise ValidationFailedError(
                f"candidate {name} is not validated: its validation was inconclusive (the "
                f"property attack ran {ran} of the {needed} inputs it needs, or could not "
                "compare a second process, before its deadline; the machine may have been "
                "busy)",
                hint=f"run `toolforge validate {name}` again, or raise [validation] "
                "attack_deadline_s in toolforge.toml",
            )
        if report.verdict != "passed":
            raise ValidationFailedError(
                f"candidate {name} failed validation: {report.failure_summary()}",
                hint=f"see `toolforge validate {name}`; fix the tool and add it again, or "
                f"`toolforge reject {name} --reason ...`",
            )
        if not report.isolated and not allow_unisolated:
            raise ValidationFailedError(
                f"candidate {name} was validated with the {report.backend!r} backend, which "
                "does not isolate network and filesystem",
                hint="validate again with an isolating backend (bwrap, or landlock where "
                "user namespaces are unavailable), or pass --allow-unisolated "
                "(recorded in the tool's provenance)",
            )
        return report

    def validation_options(self, settings: EffectiveSettings | None = None
                           ) -> ValidationOptions:
        """How this library validates and runs tools: its settings within the user's."""
        from toolforge.validation.pipeline import ValidationOptions

        settings = settings or self.settings()
        options = ValidationOptions(
            policy=settings.policy,
            limits=settings.limits,
            backend=None if settings.backend == "auto" else settings.backend,
            attack=settings.fuzz,
        )
        # A policy the sandbox cannot honour (a package not installed here) is refused now,
        # with the reason, not as "No module named ..." halfway through a test run.
        _ = options.access
        return options

    def regression_suites(self, name: str, exclude: str = "") -> list[tuple[str, str]]:
        """Tests of every earlier promoted version, deduplicated, oldest first."""
        seen = {exclude.strip()}
        suites: list[tuple[str, str]] = []
        for version, commit in sorted(self.library.promoted_versions(name).items()):
            tests = self.library.git.read_blob(commit, f"{TOOLS_DIR}/{name}/{TEST_FILE}") or ""
            if tests.strip() and tests.strip() not in seen:
                seen.add(tests.strip())
                suites.append((f"v{version}", tests))
        return suites

    def validate(
        self,
        name: str | None = None,
        *,
        code: str | None = None,
        tests: str | None = None,
        extra_suites: list[tuple[str, str]] | None = None,
        store: bool = True,
        fuzz: bool | None = None,
        attack_budget: dict[str, Any] | None = None,
        log: Callable[[str], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> ValidationReport:
        """Validate a candidate (or, without one, the active tool) by name, or given files.

        The report is stored unless `store=False`; `fuzz=False` skips the property attack
        (e.g. for code whose attack already passed); `attack_budget` replaces the attack's
        default budget (the fields of `toolforge.safety.fuzz.AttackBudget`)."""
        from toolforge.safety.fuzz import AttackBudget
        from toolforge.validation.pipeline import ValidationInput, validate

        location = "path"
        version = None
        if code is None:
            if name is None:
                raise UsageError("name a tool or give its code")
            validate_tool_name(name)
            files = self.library.find_current(name, CANDIDATES_DIR)
            location = CANDIDATES_DIR
            if files is None:
                files = self.library.find_current(name, TOOLS_DIR)
                location = TOOLS_DIR
            if files is None:
                raise NotFoundError(f"no tool named {name!r}",
                                    hint="see `toolforge list --status all`")
            code, tests, version = files.code, files.tests, files.meta.version
        tests = tests or ""
        tool = name or _try_name(code)
        if name is not None and location == "path":
            location = "proposed"  # code for a named tool, not yet in the library
            validate_tool_name(name)
        item = ValidationInput(
            tool=tool, code=code, tests=tests, location=location, version=version,
            # Earlier versions' tests apply to any code proposed for a named tool.
            regression_suites=self.regression_suites(tool, exclude=tests)
            if name is not None else [],
            extra_suites=extra_suites or [],
        )
        settings = self.settings()
        options = self.validation_options(settings)
        if fuzz is not None:
            options.attack = options.attack and fuzz
        if attack_budget is not None:
            options.budget = AttackBudget.model_validate(attack_budget)
        pool = self.sandbox_pool() if callable(self.sandbox_pool) else self.sandbox_pool
        report = validate(item, options, log=log, cancel=cancel, pool=pool)
        # Settings of the library that did not apply are part of how it was validated.
        report.warnings.extend(settings.refusal_messages())
        if store:
            self.save_report(report, code)
        return report

    def reject(self, name: str, reason: str) -> ActionResult:
        validate_tool_name(name)
        if not reason.strip():
            raise UsageError("a reason is required", hint='--reason "why it is rejected"')
        result = self.library.reject(name, reason)
        return ActionResult(action="reject", tool=name, version=result.version,
                            commit=result.commit, subject=result.subject,
                            warnings=result.warnings)

    def retire(self, name: str) -> ActionResult:
        validate_tool_name(name)
        result = self.library.retire(name)
        return ActionResult(action="retire", tool=name, version=result.version,
                            commit=result.commit, subject=result.subject,
                            warnings=result.warnings)

    def set_settings(self, table: str, values: dict[str, Any]) -> ActionResult:
        """Set keys of one `toolforge.toml` table (comments kept), checked before it is
        written; one commit."""
        import tomllib

        from toolforge.errors import ToolforgeError
        from toolforge.library.fsutil import atomic_write_text
        from toolforge.library.settings import SETTINGS_FILE, parse_settings, set_table_values
        from toolforge.library.store import Change

        path = self.root / SETTINGS_FILE
        text = set_table_values(path.read_text(encoding="utf-8"), table, values)
        try:
            parse_settings(tomllib.loads(text), path)
        except (tomllib.TOMLDecodeError, ToolforgeError) as exc:
            raise UsageError(f"refused: {table} {values} would make {SETTINGS_FILE} invalid: "
                             f"{getattr(exc, 'message', str(exc)).splitlines()[0]}")

        shown = ", ".join(f"{table}.{k} = {v}" for k, v in values.items())
        commit = self.library.mutate(Change(
            action="settings", subject=f"set {shown}", paths=[SETTINGS_FILE],
            apply=lambda: atomic_write_text(path, text)))
        return ActionResult(action="settings", commit=commit.commit, subject=commit.subject)

    def pin(self, name: str) -> ActionResult:
        """Exempt a tool from pruning and curation (recorded in its tool.toml)."""
        return self._set_pinned(name, True)

    def unpin(self, name: str) -> ActionResult:
        return self._set_pinned(name, False)

    def _set_pinned(self, name: str, pinned: bool) -> ActionResult:
        validate_tool_name(name)
        result = self.library.set_pinned(name, pinned)
        return ActionResult(action="pin" if pinned else "unpin", tool=name,
                            version=result.version, commit=result.commit,
                            subject=result.subject)

    def rollback(self, name: str | None = None, to: int | None = None,
                 library_rev: str | None = None) -> ActionResult:
        if library_rev is not None:
            if name is not None or to is not None:
                raise UsageError("--commit takes no tool name or --to",
                                 hint="--commit restores the whole library")
            result = self.library.rollback_library(library_rev)
            return ActionResult(action="rollback-library", commit=result.commit,
                                subject=result.subject, warnings=result.warnings)
        if name is None:
            raise UsageError("name a tool, or use --commit REV to restore the whole library")
        validate_tool_name(name)
        if to is not None:
            validate_version(to)
        self._refuse_no_op_rollback(name, to)
        result = self.library.rollback_tool(name, to)
        return ActionResult(action="rollback", tool=name, version=result.version,
                            commit=result.commit, subject=result.subject, tags=result.tags,
                            warnings=result.warnings)

    # --- remotes: a library shared by several clones (library/remote.py) ---------------------

    def remotes(self) -> list[RemoteInfo]:
        from toolforge.library.remote import LibraryRemote

        return LibraryRemote(self.library.git).remotes()

    def add_remote(self, name: str, url: str) -> RemoteInfo:
        """Register a git remote as this library's shared remote (publish with `sync`)."""
        from toolforge.library.remote import LibraryRemote

        with self.library.locked():
            return LibraryRemote(self.library.git).add(name, url)

    def remove_remote(self, name: str) -> None:
        from toolforge.library.remote import LibraryRemote

        with self.library.locked():
            LibraryRemote(self.library.git).remove(name)

    def sync(self, *, read_only: bool = False) -> SyncResult:
        """Pull the shared remote's commits and publish ours (`read_only`: only move this
        clone forward to the remote's head, as an agent on a pinned commit does)."""
        from toolforge.library.remote import LibraryRemote

        with self.library.locked():
            self.library._recover()
            return LibraryRemote(self.library.git).sync(read_only=read_only)

    def _publish(self, result: CommitResult) -> CommitResult:
        """After every commit (under the lock): a shared library publishes it at once, a
        compare-and-swap on the remote branch. The commit may come back re-applied on a
        newer remote head; an unreachable remote leaves it unpublished, with a warning."""
        from toolforge.library.localstate import StateInTree
        from toolforge.library.remote import LibraryRemote, RemoteUnreachable

        try:
            synced = LibraryRemote(self.library.git).publish()
        except (RemoteUnreachable, StateInTree) as exc:
            return result.model_copy(update={"warnings": [
                *result.warnings, f"not published yet: {exc.message} (`toolforge sync` "
                "publishes it)"]})
        if synced is None:
            return result
        head = self.library.git.head() or result.commit
        return result.model_copy(update={"commit": head,
                                         "warnings": [*result.warnings, *synced.warnings]})

    def _publish_notes(self) -> None:
        from toolforge.library.remote import LibraryRemote, RemoteUnreachable, SyncResult

        remote = LibraryRemote(self.library.git)
        name = remote.shared_name()
        if name is None:
            return
        try:
            remote.push_notes(name, SyncResult(remote=name, branch=""))
        except RemoteUnreachable:
            pass  # the next sync publishes them

    def _refuse_no_op_rollback(self, name: str, to: int | None) -> None:
        """Restoring the files the active version already has would only add a version
        number: refuse, and say so."""
        current = self.library.find_current(name, TOOLS_DIR)
        if current is None or current.meta.status != "active":
            return  # a retired tool comes back even with the same files
        versions = self.library.promoted_versions(name)
        if to is None:
            earlier = [v for v in versions if v < current.meta.version]
            if not earlier:
                return  # the store explains that there is nothing earlier
            to = max(earlier)
        if to not in versions:
            return
        if to == current.meta.version:
            same = True
        else:
            target = self.library.read_at(versions[to], name, TOOLS_DIR)
            same = (target.code, target.tests) == (current.code, current.tests)
        if same:
            raise ConflictError(
                f"{name} v{current.meta.version} is active and has the files of v{to} "
                "already: nothing to restore",
                hint=f"see `toolforge history {name}` for the other versions")

    # --- helpers ----------------------------------------------------------------------------

    def _resolve_version(self, name: str, version: str | int,
                         versions: dict[int, str]) -> tuple[ToolFiles, str]:
        lib = self.library
        key = str(version).strip().lower()
        if key == "rejected":
            found = lib.git.log([f"{CANDIDATES_DIR}/{name}"], limit=1, grep=REJECT_GREP)
            if not found:
                raise NotFoundError(f"{name} has no rejected candidate",
                                    hint="see `toolforge list --status rejected`")
            return lib.read_at(f"{found[0].commit}^", name, CANDIDATES_DIR), CANDIDATES_DIR
        if key in ("candidate", "cand"):
            return lib.read_current(name, CANDIDATES_DIR), CANDIDATES_DIR
        if key in ("active", "current"):
            return lib.read_current(name, TOOLS_DIR), TOOLS_DIR
        n = validate_version(version)
        if n in versions:
            return lib.read_at(versions[n], name, TOOLS_DIR), TOOLS_DIR
        # Unpromoted versions exist only as the current candidate.
        cand = lib.find_current(name, CANDIDATES_DIR)
        if cand is not None and cand.meta.version == n:
            return cand, CANDIDATES_DIR
        raise NotFoundError(f"{name} has no version {n}",
                            hint=f"see `toolforge history {name}` for its versions")


REJECT_GREP = "^Toolforge-Action: reject$"


def _presentation(d: Path, origin: str) -> dict[str, Any]:
    """`title` and `annotations` for `add`, from a tool directory's tool.toml."""
    text = read_optional_source(d / META_FILE)
    if not text:
        return {}
    title, hints = presentation_from_toml(text, f"{origin}/{META_FILE}")
    return {"title": title, "annotations": hints.model_dump(exclude_none=True) if hints
            else None}


_EXTRA_META = ("made_for", "split_from")


def _extra_meta(meta: dict[str, Any] | None) -> dict[str, Any]:
    """The tool.toml fields a caller may set on add; the others are the library's."""
    extra = dict(meta or {})
    unknown = sorted(set(extra) - set(_EXTRA_META))
    if unknown:
        raise UsageError(f"tool.toml field(s) {', '.join(unknown)} cannot be set on add",
                         hint=f"settable: {', '.join(_EXTRA_META)}")
    for key, value in extra.items():
        if value is not None and not isinstance(value, str):
            raise UsageError(f"{key} must be a string")
        if key == "split_from" and value is not None:
            validate_tool_name(value)
        if isinstance(value, str):
            extra[key] = value[:2000]
    return extra


def _try_name(code: str) -> str:
    spec, _ = _try_spec(code)
    return spec.name if spec else "unnamed"


def _check_test_source(tests: str) -> None:
    try:
        pyast.parse(tests, filename=TEST_FILE)
    except SyntaxError as exc:
        raise ToolContractError(f"{TEST_FILE}:{exc.lineno}:{exc.offset}: syntax error: {exc.msg}")
    except ValueError as exc:
        raise ToolContractError(f"{TEST_FILE}: cannot parse: {exc}")
    except (RecursionError, MemoryError, OverflowError):
        raise ToolContractError(f"{TEST_FILE}: nested too deeply to parse",
                                hint="split long expressions and chains into statements")


def _try_spec(code: str) -> tuple[ToolSpec | None, str | None]:
    try:
        return load_tool_source(code), None
    except ToolContractError as exc:
        return None, exc.message


def _summary(meta: ToolMeta, location: str) -> ToolSummary:
    model = None
    extra = meta.provenance.model_extra or {}
    models = extra.get("models")
    if isinstance(models, dict):
        model = models.get("synthesis")
    return ToolSummary(
        tool=meta.name,
        status=meta.status,
        version=meta.version,
        location=location,
        description=meta.description,
        created_at=meta.created_at,
        source=meta.provenance.source,
        model=model,
        verdict=meta.validation.verdict if meta.validation else None,
    )


def _history_item(entry: LogEntry) -> HistoryItem:
    version = entry.trailers.get("Toolforge-Version")
    return HistoryItem(
        commit=entry.commit,
        date=entry.date,
        author=entry.author,
        subject=entry.subject,
        action=entry.trailers.get("Toolforge-Action"),
        tool=entry.trailers.get("Toolforge-Tool"),
        version=version_number(version),
        trailers=entry.trailers,
    )


def _label(key: str | int, files: ToolFiles) -> str:
    k = str(key).lower()
    if k in ("candidate", "active", "current"):
        return f"{k}(v{files.meta.version})"
    return f"v{files.meta.version}"


def _meta_text(files: ToolFiles) -> str:
    return dump_meta(files.meta)
