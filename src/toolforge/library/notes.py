"""Validation reports that travel with the library: git notes on the tool's code blob.

The local report store (`.toolforge/reports.sqlite`) is not part of git, so a clone of a
shared library could not tell which candidates were validated. Each stored report of a
candidate is therefore also written as one JSON line in a note (`refs/notes/toolforge-
reports`) on the git blob of the candidate's tool.py. Notes on a blob survive rebases (a
blob id depends on the file's bytes only), are pushed and fetched with the branch
(`library/remote.py`), and merge line by line (`cat_sort_uniq`), so two clones adding
reports at once never conflict. A clone looks a report up here when its own store has none
and keeps it in its store: the store stays the one place promote and list read from.

A note is trusted like a commit of the shared remote: whoever may push to the remote may
write one. `toolforge validate NAME` re-checks a candidate locally at any time.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from toolforge.library.gitrepo import exec_git
from toolforge.library.refs import blob_id

if TYPE_CHECKING:
    from toolforge.library.gitrepo import GitRepo
    from toolforge.validation.report import ValidationReport

log = logging.getLogger("toolforge.notes")

NOTES_REF = "refs/notes/toolforge-reports"
KEEP_PER_BLOB = 20  # the newest reports kept on one blob
MAX_NOTE_BYTES = 2_000_000


def code_blob(code: str) -> str:
    """The git object id of a tool.py with exactly this text (as the library writes it)."""
    return blob_id(code.encode("utf-8"))


def attach_report(git: GitRepo, report: ValidationReport, code: str) -> bool:
    """Add `report` to the note of `code`'s blob; False when the blob is not in this
    repository (code that was never committed: nothing to attach to)."""
    blob = code_blob(code)
    if exec_git(git, "cat-file", "-e", blob).returncode != 0:
        return False
    line = report.model_dump_json()
    lines = _note_lines(git, blob)
    if line in lines:
        return True
    lines = sorted({*lines[-(KEEP_PER_BLOB - 1):], line})
    proc = exec_git(git, "notes", f"--ref={NOTES_REF}", "add", "-f", "-F", "-", blob,
                    input=("\n".join(lines) + "\n").encode("utf-8"))
    if proc.returncode != 0:
        log.warning("could not note the report of %s: %s", report.tool,
                    proc.stderr.decode("utf-8", "replace").strip()[:300])
        return False
    return True


def has_notes(git: GitRepo) -> bool:
    """Whether this repository holds any report note (two file checks, no process)."""
    base = git.root / ".git"
    if (base / NOTES_REF).is_file():
        return True
    try:
        return f" {NOTES_REF}\n" in (base / "packed-refs").read_text("utf-8", "replace")
    except OSError:
        return False


def reports_for(git: GitRepo, tool: str, code: str) -> list[ValidationReport]:
    """Reports of `tool` noted on `code`'s blob, newest first (malformed lines skipped)."""
    from pydantic import ValidationError

    from toolforge.validation.report import ValidationReport

    if not has_notes(git):
        return []
    found = []
    for line in _note_lines(git, code_blob(code)):
        try:
            report = ValidationReport.model_validate_json(line)
        except ValidationError:
            continue
        if report.tool == tool:
            found.append(report)
    return sorted(found, key=lambda r: r.created_at, reverse=True)


def noted_reports(git: GitRepo, tool: str, code: str, tests: str) -> list[ValidationReport]:
    """Candidate reports noted on `code`'s blob that vouch for exactly these files (the
    digest of tool.py and tests, recomputed here), newest first."""
    from toolforge.validation.report import files_hash

    digest = files_hash(code, tests)
    return [r for r in reports_for(git, tool, code)
            if r.files_hash == digest and r.location == "candidates"]


def report_of_files(git: GitRepo, tool: str, code: str, tests: str
                    ) -> ValidationReport | None:
    """The newest report of a candidate with exactly these files: from the local store (if
    there is one), else from the notes. Nothing else vouches for a candidate: a `[validation]`
    table or a `[trial]` in its committed tool.toml is whatever its author wrote."""
    from toolforge.library.localstate import STATE_DIR
    from toolforge.validation.report import REPORTS_DB, ReportStore, files_hash

    path = git.root / STATE_DIR / REPORTS_DB
    if path.is_file():
        report = ReportStore(path).latest(tool, files_hash(code, tests))
        if report is not None:
            return report
    noted = noted_reports(git, tool, code, tests)
    return noted[0] if noted else None


def merge_notes(git: GitRepo, other_ref: str) -> None:
    """Bring the notes of `other_ref` (a fetched remote's) into ours, line by line."""
    theirs = _rev(git, other_ref)
    if theirs is None:
        return
    ours = _rev(git, NOTES_REF)
    if ours == theirs:
        return
    if ours is None:
        exec_git(git, "update-ref", NOTES_REF, theirs)
        return
    proc = exec_git(git, "notes", f"--ref={NOTES_REF}", "merge", "-q", "-s", "cat_sort_uniq",
                    other_ref)
    if proc.returncode != 0:
        exec_git(git, "notes", f"--ref={NOTES_REF}", "merge", "--abort")
        log.warning("could not merge validation notes from %s: %s", other_ref,
                    proc.stderr.decode("utf-8", "replace").strip()[:300])


def _note_lines(git: GitRepo, blob: str) -> list[str]:
    proc = exec_git(git, "notes", f"--ref={NOTES_REF}", "show", blob)
    if proc.returncode != 0 or len(proc.stdout) > MAX_NOTE_BYTES:
        return []
    text = proc.stdout.decode("utf-8", "replace")
    return [line for line in text.splitlines() if line.strip()]


def _rev(git: GitRepo, ref: str) -> str | None:
    proc = exec_git(git, "rev-parse", "-q", "--verify", ref)
    sha = proc.stdout.decode().strip()
    return sha if proc.returncode == 0 and sha else None
