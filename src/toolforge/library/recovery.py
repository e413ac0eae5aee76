"""Finishing or undoing a library change that a crash interrupted, from the journal and git.

Runs under the writer lock, before anything else reads the library's settings: an
interrupted change may be what is wrong with them. The journal is checked before it is
acted on (library/journal.py):

- **base == HEAD**: the commit did not land. The journal's paths are restored to HEAD.
- **HEAD is the journal's own commit** (its parent is the base, its message the journal's):
  the commit landed. Missing tags are created and the paths restored to HEAD.
- **the journal's commit is below HEAD** (it landed, then someone committed on top): the
  tags are completed on that commit; the tree belongs to the later commits and is left.
- **anything else is stale** (written against an old HEAD that someone has committed over
  by hand): restoring its paths would revert their work, so nothing is touched; the
  journal is set aside and reported.
- **torn** (bad checksum, truncated, malformed): its paths cannot be believed. The journal
  is set aside and reported; every uncommitted change in the library's own area (tool
  directories, toolforge.toml, .gitignore) is copied to `.toolforge/recovered/<time>/` and
  restored to HEAD, so no half-applied change stays and nothing is lost or staged; tags
  that HEAD's own commit calls for are completed.

In every case the temporary files of interrupted atomic writes are removed.
"""

from __future__ import annotations

import logging
import shutil
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Literal

from toolforge import notices
from toolforge.errors import LibraryError
from toolforge.library.discovery import SETTINGS_FILE
from toolforge.library.fsutil import is_write_leftover, remove_leftover, write_leftovers
from toolforge.library.gitrepo import GitRepo
from toolforge.library.journal import (
    JournalEntry,
    TornJournal,
    clear_journal,
    journal_path,
    read_journal,
    set_aside,
)
from toolforge.library.localstate import STATE_DIR

log = logging.getLogger("toolforge.library")

Outcome = Literal["completed", "rolled back", "stale", "torn"]
# The library's own area: what a torn journal's change could have touched.
OWN_AREA = ("tools", "candidates", SETTINGS_FILE, ".gitignore")
RECOVERED_DIR = "recovered"
REPORT_FILE = "recovery.log"  # in the state directory: one line per journal set aside
_TAGGED_ACTIONS = ("promote", "rollback")


@dataclass(frozen=True)
class Recovery:
    outcome: Outcome
    action: str | None  # the interrupted change's action, when the journal says
    detail: str  # one sentence for the person

    @property
    def needs_attention(self) -> bool:
        return self.outcome in ("stale", "torn")


def recover(git: GitRepo, state_dir: Path) -> Recovery | None:
    """Finish or undo the change the journal in `state_dir` describes (None: no journal).
    The caller holds the writer lock."""
    found = read_journal(state_dir)
    if found is None:
        return None
    root = git.root
    remove_stale_git_locks(root / ".git")
    _remove_leftovers(git, state_dir)
    if isinstance(found, JournalEntry):
        problem = _bad_paths(found.paths)
        if problem:
            found = TornJournal(journal_path(state_dir), problem)
    if isinstance(found, TornJournal):
        result = _torn(git, state_dir, found)
    else:
        result = _checked(git, state_dir, found)
    if result.needs_attention:
        notices.notify(result.detail)  # the command's warnings (CLI), else the log (daemon)
        _note(state_dir, result.detail)
    else:
        log.info("%s", result.detail)
    return result


def _note(state_dir: Path, text: str) -> None:
    """Keep the report beside the set-aside journal: `toolforge doctor` shows it later,
    whoever ran the command that recovered (a daemon logs to its own file)."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    with open(state_dir / REPORT_FILE, "a", encoding="utf-8") as fh:
        fh.write(f"{stamp} {text}\n")


def set_aside_journals(state_dir: Path) -> tuple[list[Path], list[str]]:
    """Journals recovery set aside (stale, torn), and the report lines about them."""
    kept = sorted(state_dir.glob("journal.stale-*.json")) + \
        sorted(state_dir.glob("journal.torn-*.json"))
    try:
        lines = (state_dir / REPORT_FILE).read_text(encoding="utf-8").splitlines()
    except OSError:
        lines = []
    return kept, lines


def _checked(git: GitRepo, state_dir: Path, entry: JournalEntry) -> Recovery:
    head = git.head()
    if head == entry.base:
        git.restore_paths(head, entry.paths)
        clear_journal(state_dir)
        return Recovery("rolled back", entry.action,
                        f"undid an interrupted `{entry.action}` (its commit had not landed)")
    landed = entry.target if head is not None and head == entry.target \
        else _landed_commit(git, entry, head)
    if landed is not None:
        _create_tags(git, entry.tags, landed)
        if landed == head:
            git.restore_paths(head, entry.paths)
        clear_journal(state_dir)
        return Recovery("completed", entry.action,
                        f"finished an interrupted `{entry.action}` (commit {landed[:12]})")
    aside = set_aside(state_dir, "stale")
    return Recovery(
        "stale", entry.action,
        f"set aside a stale journal of an interrupted `{entry.action}`: it was written "
        f"against commit {(entry.base or 'none')[:12]}, and the library has been committed "
        f"to since ({(head or 'none')[:12]}), so nothing was restored; its paths "
        f"({_listing(entry.paths)}) are as they are now. The journal is kept at {aside}")


def _torn(git: GitRepo, state_dir: Path, torn: TornJournal) -> Recovery:
    head = git.head()
    units = sorted({unit(path) for _, path in git.status(list(OWN_AREA))})
    saved = None
    if units:
        saved = _save_copies(git.root, units, state_dir)
        git.restore_paths(head, units)
    tags = _tags_called_for(git, head) if head else []
    _create_tags(git, tags, head or "")
    # Last: killed before this, the next recovery finds the same torn journal and redoes it.
    aside = set_aside(state_dir, "torn")
    text = (f"the library's journal was torn ({torn.problem}): the interrupted change "
            f"could not be checked, so it was not replayed; the journal is kept at {aside}")
    if saved is not None:
        text += (f"; uncommitted changes in {_listing(units)} were restored to the last "
                 f"commit and their files copied to {saved}")
    if tags:
        text += f"; created the missing tag(s) {', '.join(tags)}"
    return Recovery("torn", None, text)


def _landed_commit(git: GitRepo, entry: JournalEntry, head: str | None) -> str | None:
    """The journal's own commit, if it is HEAD or below it: the first commit after the
    journal's base on HEAD's first-parent line, with the journal's message."""
    if head is None:
        return None
    spec = f"{entry.base}..{head}" if entry.base else head
    try:
        line = git.run("rev-list", "--first-parent", "--reverse", spec, "--").split()
    except LibraryError:  # the base is no commit of this repository
        return None
    if not line:
        return None
    first = line[0]
    if git.parent(first) != entry.base:
        return None  # the base is not on HEAD's line: history was replaced
    return first if git.message(first).strip() == entry.message.strip() else None


def _create_tags(git: GitRepo, tags: list[str], commit: str) -> None:
    if not tags:
        return
    existing = git.tags("tool/")
    for tag in tags:
        if tag not in existing:
            git.tag(tag, commit)


def _tags_called_for(git: GitRepo, commit: str) -> list[str]:
    """The version tag a promote or rollback commit makes, when it is missing and the
    commit's tree agrees (its tool.toml has that version)."""
    import tomllib

    entries = git.log_entries([commit])
    if not entries:
        return []
    trailers = entries[0].trailers
    tool, version = trailers.get("Toolforge-Tool"), trailers.get("Toolforge-Version", "")
    if trailers.get("Toolforge-Action") not in _TAGGED_ACTIONS or not tool \
            or not version.isdigit():
        return []
    tag = f"tool/{tool}/v{int(version)}"
    if tag in git.tags(f"tool/{tool}/"):
        return []
    text = git.read_blob(commit, f"tools/{tool}/tool.toml")
    try:
        meta = tomllib.loads(text or "")
    except tomllib.TOMLDecodeError:
        return []
    return [tag] if meta.get("version") == int(version) else []


def unit(path: str) -> str:
    """What a torn change is undone by: a whole tool directory, or a top-level file."""
    parts = PurePosixPath(path).parts
    if len(parts) >= 2 and parts[0] in ("tools", "candidates"):
        return f"{parts[0]}/{parts[1]}"
    return parts[0]


def _save_copies(root: Path, units: list[str], state_dir: Path) -> Path | None:
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    dest = state_dir / RECOVERED_DIR / stamp
    copied = False
    for unit in units:
        src = root / unit
        if not (src.exists() or src.is_symlink()):
            continue
        target = dest / unit
        target.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir() and not src.is_symlink():
            shutil.copytree(src, target, symlinks=True, dirs_exist_ok=True)
        else:
            shutil.copy2(src, target, follow_symlinks=False)
        copied = True
    return dest if copied else None


def _bad_paths(paths: list[str]) -> str | None:
    """Why a journal's paths cannot be those of a library change, if they cannot."""
    for path in paths:
        parts = PurePosixPath(path).parts
        if not parts or path.startswith("/") or ".." in parts or \
                parts[0] in (".git", STATE_DIR):
            return f"it names a path outside the library's tree ({path!r})"
    return None


def _remove_leftovers(git: GitRepo, state_dir: Path) -> None:
    """Temporary files of interrupted atomic writes: in the work tree (written only under
    the writer lock, which we hold; one that someone committed is theirs and stays) and
    the journal's own beside it."""
    found = write_leftovers(git.root, recursive=True, skip=(STATE_DIR,))
    if found:
        rels = [str(p.relative_to(git.root)) for p in found]
        tracked = set(git.run("ls-files", "-z", "--", *rels, strip=False).split("\0"))
        for path, rel in zip(found, rels, strict=True):
            if rel not in tracked and not any(t.startswith(rel + "/") for t in tracked):
                remove_leftover(path)
                log.info("removed %s, left by an interrupted write", path)
    for p in state_dir.glob(".journal.json.*"):
        if is_write_leftover(p.name):
            p.unlink(missing_ok=True)


def _listing(paths: list[str], limit: int = 5) -> str:
    shown = ", ".join(paths[:limit])
    return shown + (f" and {len(paths) - limit} more" if len(paths) > limit else "")


def remove_stale_git_locks(git_dir: Path) -> None:
    """A git process killed mid-write leaves *.lock files; we hold the writer lock, so
    any left now are ours and stale."""
    for rel in ("index.lock", "HEAD.lock", "packed-refs.lock", "config.lock"):
        (git_dir / rel).unlink(missing_ok=True)
    refs = git_dir / "refs"
    if refs.is_dir():
        for lock in refs.rglob("*.lock"):
            lock.unlink(missing_ok=True)
