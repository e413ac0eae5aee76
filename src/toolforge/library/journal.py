"""Write-ahead journal that makes every mutation all-or-nothing.

Before touching the work tree, a mutation records the commit it starts from, the paths it
will change, the commit message and the tags it will create. If the process dies, the next
writer (under the lock) finds the journal and either finishes the job (the commit landed:
create missing tags) or undoes it (the commit did not land: restore the paths). Git's own
ref update is the commit point.

The journal is checked, not trusted (library/recovery.py decides what to do with it): it
carries a SHA-256 of its own content, so a torn or edited file is recognised as such rather
than read as an intent, and a journal that cannot be used is set aside (renamed, kept for
the person to read), never silently deleted.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ValidationError

from toolforge.library.fsutil import atomic_write_text

JOURNAL_FILE = "journal.json"
FORMAT = 2  # 1: the bare entry, without a checksum (read as torn: it cannot be verified)


class JournalEntry(BaseModel):
    action: str
    base: str | None
    paths: list[str]
    message: str
    tags: list[str] = []
    # The commit the change ends at, when it is known before the change is made (a sync
    # moving to a remote commit): HEAD there means the change landed.
    target: str | None = None


@dataclass(frozen=True)
class TornJournal:
    """A journal file that is not a whole, verified entry: what was wrong with it."""

    path: Path
    problem: str


def journal_path(state_dir: Path) -> Path:
    return state_dir / JOURNAL_FILE


def _checksum(body: str) -> str:
    return "sha256:" + hashlib.sha256(body.encode("utf-8")).hexdigest()


def write_journal(state_dir: Path, entry: JournalEntry) -> None:
    body = entry.model_dump_json()
    # The checksum covers the entry's exact text, which is stored as a string: no
    # re-serialisation can make a good journal look torn.
    doc = {"format": FORMAT, "checksum": _checksum(body), "entry": body}
    atomic_write_text(journal_path(state_dir), json.dumps(doc))


def read_journal(state_dir: Path) -> JournalEntry | TornJournal | None:
    """The journal's entry; None when there is none; TornJournal when the file is there but
    is not a whole entry whose checksum matches (truncated, garbled, edited)."""
    path = journal_path(state_dir)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        return TornJournal(path, f"unreadable ({exc.strerror or exc})")
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return TornJournal(path, f"not valid JSON ({len(raw)} bytes: truncated or garbled)")
    if not isinstance(doc, dict) or not isinstance(doc.get("entry"), str) \
            or not isinstance(doc.get("checksum"), str):
        return TornJournal(path, "not a toolforge journal of this version (no checksum)")
    body = doc["entry"]
    if doc["checksum"] != _checksum(body):
        return TornJournal(path, "its checksum does not match its content")
    try:
        return JournalEntry.model_validate_json(body)
    except ValidationError as exc:
        return TornJournal(path, f"its entry is malformed ({exc.error_count()} errors)")


def clear_journal(state_dir: Path) -> None:
    journal_path(state_dir).unlink(missing_ok=True)


def set_aside(state_dir: Path, reason: str) -> Path:
    """Rename the journal to journal.<reason>-<time>.json beside it and return that path: a
    journal that cannot be acted on is kept for the person, and no longer acted on."""
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    target = state_dir / f"journal.{reason}-{stamp}-{os.getpid()}.json"
    os.replace(journal_path(state_dir), target)
    return target
