"""The library's local state never comes from git.

`.toolforge/` holds what this clone knows and decided: validation reports (which let a
candidate be promoted), recorded runs and cycles (which start evolution and count against
budgets), usage records (which retire tools), jobs, the worker's status and queue inbox. It
is ignored by the library's `.gitignore`, but ignoring is only a default: anyone who may
push to a shared remote can force-commit `.toolforge/reports.sqlite` saying "passed", and
git would then write it into every clone that checks that commit out (git overwrites
ignored files). So a tree that tracks the state directory is refused wherever a tree
enters a work tree:

- `toolforge sync` (and the catching-up of a publication) refuses to move to a remote
  commit that tracks it (library/remote.py), before anything is rebased or checked out;
- opening a library whose HEAD tracks it (a fresh `git clone` of such a remote) fails with
  how to remove it, so no command reads a forged file.

The open check costs one git process per new HEAD: the HEAD last found clean is remembered
inside the git directory, where no checkout can write.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from toolforge.errors import LibraryError

STATE_DIR = ".toolforge"
CHECKED_FILE = "toolforge-state-checked"  # in the git directory


class StateInTree(LibraryError):
    """A commit tracks the library's local state directory."""

    kind = "state_in_tree"


def tracks_state(root: Path, rev: str) -> bool:
    """Whether the tree of `rev` has an entry named `.toolforge` (file, directory, link)."""
    from toolforge.library.gitrepo import git_command

    proc = subprocess.run(git_command(root, "cat-file", "-e", f"{rev}:{STATE_DIR}"),
                          capture_output=True, check=False)
    return proc.returncode == 0


def state_in_tree_error(where: str, *, remote: bool) -> StateInTree:
    if remote:
        return StateInTree(
            f"{where} tracks {STATE_DIR}/, this library's local state (validation reports, "
            "runs, usage); a clone never takes its state from the tree a remote sends, so "
            "it does not move there",
            hint="remove it on the remote: `git rm -r -q --cached .toolforge && git commit "
                 "-m 'untrack local state'` in a clone, push, then sync again")
    return StateInTree(
        f"{where} tracks {STATE_DIR}/, the library's local state (validation reports, "
        "runs, usage): a committed copy could claim validations that never ran, so the "
        "library is not used until it is removed",
        hint="remove it (files included, they came from git): `git rm -r -q .toolforge && "
             "git commit -m 'untrack local state'`; then fix the remote it came from")


def check_head(root: Path) -> None:
    """Refuse a library whose HEAD tracks its local state (checked once per HEAD)."""
    from toolforge.library.refs import git_head

    gitdir = root / ".git"
    head = git_head(gitdir) if gitdir.is_dir() else None
    if head is not None and (len(head) not in (40, 64) or
                             any(c not in "0123456789abcdef" for c in head)):
        head = None  # unborn, or an unusual layout: ask git every time
    marker = gitdir / CHECKED_FILE
    if head is not None:
        try:
            if marker.read_text(encoding="ascii").strip() == head:
                return
        except OSError:
            pass
    rev = head or "HEAD"  # unborn or an unusual layout: ask git (an unborn HEAD tracks nothing)
    if tracks_state(root, rev):
        raise state_in_tree_error(f"this library's commit {rev[:12]}", remote=False)
    if head is not None:
        try:
            marker.write_text(head + "\n", encoding="ascii")
        except OSError:
            pass  # checked again next time
