"""Write-ahead journal that makes every mutation all-or-nothing.

Before touching the work tree, a mutation records the commit it starts from, the paths it
will change, the commit message and the tags it will create. If the process dies, the next
writer (under the lock) finds the journal and either finishes the job (the commit landed:
create missing tags) or undoes it (the commit did not land: restore the paths). Git's own
ref update is the commit point.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from toolforge.library.fsutil import atomic_write_text

JOURNAL_FILE = "journal.json"


class JournalEntry(BaseModel):
    action: str
    base: str | None
    paths: list[str]
    message: str
    tags: list[str] = []


def journal_path(state_dir: Path) -> Path:
    return state_dir / JOURNAL_FILE


def write_journal(state_dir: Path, entry: JournalEntry) -> None:
    atomic_write_text(journal_path(state_dir), entry.model_dump_json())


def read_journal(state_dir: Path) -> JournalEntry | None:
    path = journal_path(state_dir)
    try:
        return JournalEntry.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return None
    except (ValueError, json.JSONDecodeError):
        # A torn journal means the crash happened before any tree change (it is written
        # atomically first), so there is nothing to undo.
        path.unlink(missing_ok=True)
        return None


def clear_journal(state_dir: Path) -> None:
    journal_path(state_dir).unlink(missing_ok=True)
