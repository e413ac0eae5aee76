"""Libraries across machines: one git remote shared by several clones (DESIGN.md §11).

- `toolforge remote add NAME URL` registers a git remote as the library's shared remote
  (git config `toolforge.remote`); a clone made with `git clone` shares its only remote.
- Every change to a shared library is published at once, as a compare-and-swap on the
  remote branch: `git push --atomic --force-with-lease=<branch>:<the remote head the change
  was built on>`, together with the change's tags. When another clone published first,
  the push is rejected; we fetch, re-apply our commit on the new remote head (a rebase of
  that one commit, through a temporary index), re-check it, and push again. History stays
  linear: no merge commit, no force push, no blind write.
- The re-check: a commit that touches a tool directory the remote also changed meanwhile
  (or any promotion, when the remote changed the library's settings) is not re-applied,
  because it was decided on a state that no longer exists. It is parked under
  `refs/toolforge/unpublished/` (never lost), the library follows the remote, and the
  change fails with a PublishConflict that names the remote commits.
- `sync` = fetch, rebase what is unpublished, push; `sync(read_only=True)` only
  fast-forwards, for agents that serve a pinned commit and refresh it.
- Validation reports travel as git notes (`library/notes.py`), fetched and merged with the
  branch, pushed after it.

All of it runs under the library's writer lock (the caller holds it), so one clone never
races itself; other clones are kept out by the lease.
"""

from __future__ import annotations

import logging
import random
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from toolforge.errors import ConflictError, LibraryError, UsageError
from toolforge.library.crashpoints import step
from toolforge.library.gitrepo import exec_git
from toolforge.urls import public_url
from toolforge.library.journal import JournalEntry, clear_journal, write_journal
from toolforge.library.localstate import STATE_DIR, state_in_tree_error, tracks_state
from toolforge.library.notes import NOTES_REF, merge_notes

if TYPE_CHECKING:
    from toolforge.library.gitrepo import GitRepo

log = logging.getLogger("toolforge.remote")

SHARED_KEY = "toolforge.remote"
PARKED_PREFIX = "refs/toolforge/unpublished"
REMOTE_TAGS = "refs/toolforge/remote-tags"
REMOTE_NOTES = "refs/toolforge/remote-notes"
TAG_PREFIX = "tool/"
MAX_ATTEMPTS = 10
NETWORK_TIMEOUT_S = 120.0
# Paths whose change on the remote invalidates a promotion's validation: the settings hold
# the static-check policy and sandbox limits it was validated under.
SETTINGS_PATHS = ("toolforge.toml",)

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
# Transports git would run a program for, or that read from a file descriptor: never.
_UNSAFE_URL = re.compile(r"^(ext|fd)::", re.IGNORECASE)


class RemoteInfo(BaseModel):
    name: str
    url: str  # without a password (toolforge.urls); `git remote -v` shows it whole
    shared: bool = False


class ParkedCommit(BaseModel):
    commit: str
    subject: str
    ref: str
    reason: str


class SyncResult(BaseModel):
    remote: str
    branch: str
    read_only: bool = False
    head: str | None = None  # the local branch afterwards
    remote_head: str | None = None  # the remote branch afterwards (as far as we know)
    pulled: int = 0  # commits that came from the remote
    pushed: int = 0  # local commits now published
    rebased: int = 0  # local commits re-applied on a newer remote head
    attempts: int = 0  # pushes tried
    parked: list[ParkedCommit] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)


class PublishConflict(ConflictError):
    """A change could not be published: the remote changed the same tool meanwhile."""

    kind = "publish_conflict"

    def __init__(self, message: str, *, hint: str | None = None,
                 parked: list[ParkedCommit] | None = None) -> None:
        super().__init__(message, hint=hint)
        self.parked = parked or []


class RemoteUnreachable(LibraryError):
    """The shared remote could not be reached (network, permissions, a missing repo)."""

    http_status = 503
    kind = "remote_unreachable"


@dataclass(frozen=True)
class _Commit:
    sha: str
    parents: tuple[str, ...]
    subject: str


def validate_remote_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name) or name.endswith((".", ".lock")) \
            or ".." in name:
        raise UsageError(f"invalid remote name {name!r}",
                         hint="letters, digits, . _ - (e.g. origin, shared)")
    return name


def validate_remote_url(url: str) -> str:
    """A URL or path git can push to; never a transport that runs a command."""
    if not isinstance(url, str) or not url.strip() or url != url.strip():
        raise UsageError("the remote URL is empty or padded with spaces")
    if url.startswith("-") or _UNSAFE_URL.match(url) or any(c in url for c in "\n\r\0"):
        raise UsageError(f"refusing remote URL {public_url(url)!r}",
                         hint="use an https://, ssh://, git:// or file:// URL, "
                              "user@host:path, or a path to a (bare) repository")
    return url


class LibraryRemote:
    """The shared remote of one library. Call the mutating methods under the library lock."""

    def __init__(self, git: GitRepo) -> None:
        self.git = git

    # --- configuration -----------------------------------------------------------------------

    def remotes(self) -> list[RemoteInfo]:
        values = self._config_values()
        shared = self._shared(values)
        out = []
        for key, url in values.items():
            if key.startswith("remote.") and key.endswith(".url"):
                name = key[len("remote."):-len(".url")]
                out.append(RemoteInfo(name=name, url=public_url(url), shared=name == shared))
        return sorted(out, key=lambda r: r.name)

    def shared_name(self) -> str | None:
        """The remote changes are published to: `toolforge.remote`, else the only remote."""
        return self._shared(self._config_values())

    def _shared(self, values: dict[str, str]) -> str | None:
        names = [k[len("remote."):-len(".url")] for k in values
                 if k.startswith("remote.") and k.endswith(".url")]
        chosen = values.get(SHARED_KEY)
        if chosen:
            return chosen if chosen in names else None
        return names[0] if len(names) == 1 else None

    def _config_values(self) -> dict[str, str]:
        proc = exec_git(self.git, "config", "--local", "-z", "--get-regexp",
                        r"^(toolforge\.remote|remote\..*\.url)$")
        out: dict[str, str] = {}
        for item in proc.stdout.decode("utf-8", "replace").split("\0"):
            key, _, value = item.partition("\n")
            if key:
                out[key.strip().lower() if key.startswith("toolforge.") else key.strip()] = value
        return out

    def add(self, name: str, url: str, *, shared: bool = True) -> RemoteInfo:
        validate_remote_name(name)
        validate_remote_url(url)
        if any(r.name == name for r in self.remotes()):
            raise ConflictError(f"a remote named {name!r} exists already",
                                hint=f"remove it first: `toolforge remote remove {name}`")
        self._git_ok("remote", "add", "--", name, url)
        if shared:
            self._git_ok("config", "--local", SHARED_KEY, name)
        return RemoteInfo(name=name, url=public_url(url),
                          shared=shared or self.shared_name() == name)

    def remove(self, name: str) -> None:
        validate_remote_name(name)
        if not any(r.name == name for r in self.remotes()):
            raise LibraryError(f"no remote named {name!r}", hint="see `toolforge remote list`")
        self._git_ok("remote", "remove", "--", name)
        if self._config_values().get(SHARED_KEY) == name:
            exec_git(self.git, "config", "--local", "--unset", SHARED_KEY)
        for prefix in (f"{REMOTE_TAGS}/{name}/", f"{REMOTE_NOTES}/{name}/"):
            for ref in self._refs(prefix):
                exec_git(self.git, "update-ref", "-d", ref)

    def branch(self) -> str:
        proc = exec_git(self.git, "symbolic-ref", "--short", "-q", "HEAD")
        name = proc.stdout.decode().strip()
        if proc.returncode != 0 or not name:
            raise LibraryError("the library is not on a branch (detached HEAD)",
                               hint=f"check out its branch: git -C {self.git.root} checkout main")
        return name

    def library_id(self) -> str:
        """Names the library the same on every clone: its first commit."""
        proc = exec_git(self.git, "rev-list", "--max-parents=0", "HEAD")
        roots = sorted(proc.stdout.decode().split())
        if proc.returncode != 0 or not roots:
            raise LibraryError("the library has no commit yet")
        return roots[0]

    # --- sync --------------------------------------------------------------------------------

    def sync(self, *, read_only: bool = False, push: bool = True) -> SyncResult:
        """Fetch; bring the remote's commits in; publish ours (unless `read_only`)."""
        name = self._require_shared()
        branch = self.branch()
        result = SyncResult(remote=name, branch=branch, read_only=read_only)
        self.fetch(name)
        tracking = self._rev(f"refs/remotes/{name}/{branch}")
        if read_only:
            self._fast_forward(name, branch, tracking, result)
        else:
            self._integrate(name, branch, result)
            if push:
                self._push_loop(name, branch, result)
        self._adopt_remote_tags(name)
        if not read_only:
            self.push_notes(name, result)
        result.head = self.git.head()
        result.remote_head = self._rev(f"refs/remotes/{name}/{branch}")
        return result

    def publish(self) -> SyncResult | None:
        """Push unpublished commits (a change just made); None when the library has no
        shared remote. PublishConflict when the remote changed the same tool meanwhile;
        RemoteUnreachable when it cannot be reached (the commit stays, unpublished)."""
        name = self.shared_name()
        if name is None:
            return None
        branch = self.branch()
        result = SyncResult(remote=name, branch=branch)
        self._push_loop(name, branch, result)
        result.head = self.git.head()
        result.remote_head = self._rev(f"refs/remotes/{name}/{branch}")
        self.push_notes(name, result)
        return result

    def unpublished(self) -> list[str]:
        """Local commits the shared remote does not have, oldest first (as far as the last
        fetch or push knows)."""
        name = self.shared_name()
        if name is None:
            return []
        tracking = self._rev(f"refs/remotes/{name}/{self.branch()}")
        spec = ["HEAD"] if tracking is None else [f"{tracking}..HEAD"]
        proc = exec_git(self.git, "rev-list", "--reverse", *spec)
        return proc.stdout.decode().split() if proc.returncode == 0 else []

    def fetch(self, name: str) -> None:
        """The remote's branches, tool tags and report notes, into refs of their own (the
        local branch and tags move only when we integrate)."""
        proc = exec_git(
            self.git, "fetch", "--no-tags", "--no-write-fetch-head", "--quiet", name,
            f"+refs/heads/*:refs/remotes/{name}/*",
            f"+refs/tags/{TAG_PREFIX}*:{REMOTE_TAGS}/{name}/{TAG_PREFIX}*",
            f"+refs/notes/*:{REMOTE_NOTES}/{name}/*",
            timeout_s=NETWORK_TIMEOUT_S)
        if proc.returncode != 0:
            raise RemoteUnreachable(
                f"cannot fetch from remote {name!r}: {_stderr(proc)}",
                hint="check the URL (`toolforge remote list`), the network and your access")
        merge_notes(self.git, f"{REMOTE_NOTES}/{name}/{NOTES_REF.removeprefix('refs/notes/')}")

    # --- integrating the remote's commits ------------------------------------------------------

    def _fast_forward(self, name: str, branch: str, tracking: str | None,
                      result: SyncResult) -> None:
        head = self.git.head()
        if tracking is None:
            result.warnings.append(f"remote {name!r} has no branch {branch!r} yet")
            return
        if head == tracking or (head and self._is_ancestor(tracking, head)):
            if head != tracking:
                raise ConflictError(
                    f"this clone has {self._count(tracking, head)} commit(s) the remote does "
                    "not have; a read-only sync does not publish them",
                    hint="publish them with `toolforge sync`, or drop them")
            return
        if head is not None and not self._is_ancestor(head, tracking):
            raise ConflictError(
                "this clone and the remote have diverged; a read-only sync only "
                "fast-forwards",
                hint="run `toolforge sync` to publish local commits first")
        self._refuse_state(name, tracking)
        result.pulled = self._count(head, tracking)
        self._move_head(head, tracking)

    def _integrate(self, name: str, branch: str, result: SyncResult) -> None:
        """Put unpublished local commits on top of the fetched remote head (or just move to
        it when there are none). Conflicting commits are parked."""
        head = self.git.head()
        tracking = self._rev(f"refs/remotes/{name}/{branch}")
        if tracking is None or head == tracking:
            return
        self._refuse_state(name, tracking)  # before anything is rebased or moved
        if head is None or self._is_ancestor(head, tracking):  # nothing of ours: follow
            result.pulled = self._count(head, tracking)
            self._move_head(head, tracking)
            return
        if self._is_ancestor(tracking, head):
            return  # only ours on top: the push publishes them
        base = self._merge_base(head, tracking)
        if base is None:
            raise LibraryError(
                f"remote {name!r} holds another library (no common history with this one)",
                hint="clone the shared library instead (git clone URL DIR), or add an empty "
                     "remote repository")
        pending = self._commits(base, head)
        result.pulled = self._count(base, tracking)
        new_tip, rebased, parked = self._rebase(pending, base, tracking)
        self._move_head(head, new_tip)
        result.rebased += rebased
        result.parked += parked

    def _rebase(self, pending: list[_Commit], base: str, onto: str
                ) -> tuple[str, int, list[ParkedCommit]]:
        """Re-apply `pending` (built on `base`) on `onto`, one commit at a time, each
        re-checked against what the remote changed since `base`. The first commit that
        fails the check is parked with everything after it (they were built on it)."""
        remote_paths = self._changed_paths(base, onto)
        remote_commits = self._subjects(base, onto)
        remote_tags = set(self._refs(f"{REMOTE_TAGS}/"))
        tip = onto
        done = 0
        for i, commit in enumerate(pending):
            reason = self._conflict(commit, remote_paths, remote_tags, remote_commits)
            if reason is not None:
                return tip, done, self._park(pending[i:], reason)
            new = self._replay(commit, tip)
            self._move_tags(commit.sha, new)
            tip = new
            done += 1
        return tip, done, []

    def _conflict(self, commit: _Commit, remote_paths: set[str], remote_tags: set[str],
                  remote_commits: list[str]) -> str | None:
        if len(commit.parents) != 1:
            return "a merge commit: a shared library keeps a linear history"
        touched = self._changed_paths(commit.parents[0], commit.sha)
        mine = {_unit(p) for p in touched}
        theirs = {_unit(p) for p in remote_paths}
        clash = sorted(mine & theirs)
        tags = self._tags_at(commit.sha)
        if not clash and tags and theirs.intersection(SETTINGS_PATHS):
            clash = list(SETTINGS_PATHS)
        if clash:
            shown = "; ".join(remote_commits[:3]) + (" ..." if len(remote_commits) > 3 else "")
            return (f"the remote changed {', '.join(clash[:5])} meanwhile ({shown})")
        taken = sorted(t for t in tags if any(r.endswith("/" + t) for r in remote_tags))
        if taken:
            return f"the remote already has tag(s) {', '.join(taken)}"
        return None

    def _replay(self, commit: _Commit, onto: str) -> str:
        """`commit`'s own changes on top of `onto`, as a new commit with its message and
        author: a one-commit rebase through a temporary index (the work tree and the real
        index are not touched)."""
        import os
        import tempfile

        fd, index = tempfile.mkstemp(prefix="toolforge-rebase-", suffix=".index")
        os.close(fd)
        os.unlink(index)  # git wants to create it
        env = {"GIT_INDEX_FILE": index}
        try:
            self._git_ok("read-tree", onto, env=env)
            diff = self._git_ok("diff-tree", "-r", "-z", "--no-renames", "--no-commit-id",
                                "--raw", commit.parents[0], commit.sha).decode("utf-8",
                                                                                "surrogateescape")
            lines = []
            fields = diff.split("\0")
            for j in range(0, len(fields) - 1, 2):
                meta, path = fields[j], fields[j + 1]
                if not meta.startswith(":"):
                    continue
                _, new_mode, _, new_sha, status = meta[1:].split(" ")
                if status.startswith("D"):
                    lines.append(f"0 {'0' * 40}\t{path}")
                else:
                    lines.append(f"{new_mode} {new_sha}\t{path}")
            if lines:
                self._git_ok("update-index", "--index-info", env=env,
                             input=("\n".join(lines) + "\n").encode("utf-8", "surrogateescape"))
            tree = self._git_ok("write-tree", env=env).decode().strip()
        finally:
            try:
                os.unlink(index)
            except FileNotFoundError:
                pass
        author = self._git_ok("log", "-1", "--format=%an%x00%ae%x00%aI", commit.sha
                              ).decode("utf-8", "replace").strip("\n").split("\0")
        message = self._git_ok("log", "-1", "--format=%B", commit.sha)
        who = {"GIT_AUTHOR_NAME": author[0], "GIT_AUTHOR_EMAIL": author[1],
               "GIT_AUTHOR_DATE": author[2]}
        return self._git_ok("commit-tree", tree, "-p", onto, "-F", "-", input=message,
                            env=who).decode().strip()

    def _park(self, commits: list[_Commit], reason: str) -> list[ParkedCommit]:
        """Keep commits that could not be published under a ref of their own (nothing is
        lost; `git log REF` shows them), and drop their tags."""
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        last = commits[-1]
        ref = f"{PARKED_PREFIX}/{stamp}-{last.sha[:12]}"
        self._git_ok("update-ref", ref, last.sha)
        for commit in commits:
            for tag in self._tags_at(commit.sha):
                exec_git(self.git, "update-ref", "-d", f"refs/tags/{tag}", commit.sha)
        log.warning("parked %d unpublished commit(s) under %s: %s", len(commits), ref, reason)
        return [ParkedCommit(commit=c.sha, subject=c.subject, ref=ref, reason=reason)
                for c in commits]

    def _refuse_state(self, name: str, rev: str) -> None:
        """A remote commit that tracks the local state directory never enters the work
        tree (library/localstate.py): git would overwrite this clone's reports with it."""
        if tracks_state(self.git.root, rev):
            raise state_in_tree_error(f"remote {name!r}'s commit {rev[:12]}", remote=True)

    def _move_head(self, old: str | None, new: str) -> None:
        """Move the branch from `old` to `new`, updating index and work tree for the files
        that differ (a two-tree merge: local edits elsewhere stay; edits in the way stop
        it before anything changes)."""
        if tracks_state(self.git.root, new):  # the last line of defence: see _refuse_state
            raise state_in_tree_error(f"commit {new[:12]}", remote=True)
        # Journaled like any change (library/recovery.py): killed half-way through the
        # work tree, the next command undoes it; killed after the ref moved, it is done.
        state_dir = self.git.root / STATE_DIR
        write_journal(state_dir, JournalEntry(
            action="sync", base=old, paths=self._changed_units(old, new),
            message=f"sync to {new}", target=new))
        # read-tree trusts the index's stat data: refresh it first, or a file touched
        # (not changed) since the last refresh stops the sync as a "hand edit".
        exec_git(self.git, "update-index", "-q", "--refresh")
        if old is not None:
            proc = exec_git(self.git, "read-tree", "-m", "-u", old, new)
        else:
            proc = exec_git(self.git, "read-tree", "-m", "-u", new)
        step()
        if proc.returncode != 0:
            clear_journal(state_dir)  # git changed nothing
            raise ConflictError(
                f"cannot update the work tree to {new[:12]}: {_stderr(proc)}",
                hint="hand edits are in the way: commit or discard them, then sync again")
        update = ["update-ref", "-m", f"toolforge: sync to {new[:12]}", "HEAD", new]
        if old is not None:
            update.append(old)
        self._git_ok(*update)
        step()
        clear_journal(state_dir)

    def _changed_units(self, old: str | None, new: str) -> list[str]:
        """What moving from `old` to `new` rewrites: whole tool directories and top-level
        entries (undoing a tool directory leaves no half of it)."""
        from toolforge.library.recovery import unit

        args = ["diff-tree", "-r", "--name-only", "-z", old, new] if old is not None \
            else ["ls-tree", "-r", "--name-only", "-z", new]
        names = self.git.run(*args, strip=False).split("\0")
        return sorted({unit(n) for n in names if n})

    def _move_tags(self, old: str, new: str) -> None:
        for tag in self._tags_at(old):
            self._git_ok("update-ref", f"refs/tags/{tag}", new, old)

    def _adopt_remote_tags(self, name: str) -> None:
        """The remote's tool tags, for the commits we now have."""
        prefix = f"{REMOTE_TAGS}/{name}/"
        remote = self._ref_values(prefix)
        if not remote:
            return
        local = self._ref_values("refs/tags/" + TAG_PREFIX)
        for ref, sha in remote.items():
            tag = ref[len(prefix):]
            have = local.get(f"refs/tags/{tag}")
            if have == sha:
                continue
            if have is not None:
                log.warning("tag %s differs from the remote's (%s here, %s there): kept",
                            tag, have[:12], sha[:12])
                continue
            if exec_git(self.git, "cat-file", "-e", f"{sha}^{{commit}}").returncode == 0:
                exec_git(self.git, "update-ref", f"refs/tags/{tag}", sha, "0" * 40)

    # --- pushing -----------------------------------------------------------------------------

    def _push_loop(self, name: str, branch: str, result: SyncResult) -> None:
        for attempt in range(1, MAX_ATTEMPTS + 1):
            head = self.git.head()
            tracking = self._rev(f"refs/remotes/{name}/{branch}")
            if head is None or head == tracking or (
                    tracking is not None and self._is_ancestor(head, tracking)):
                return
            pending = self._commits(tracking, head) if tracking else self._commits(None, head)
            tags = [t for c in pending for t in self._tags_at(c.sha)]
            result.attempts += 1
            outcome = self._push(name, branch, head, tracking, tags)
            if outcome == "ok":
                self._git_ok("update-ref", f"refs/remotes/{name}/{branch}", head)
                for tag in tags:
                    sha = self._rev(f"refs/tags/{tag}")
                    if sha is not None:
                        exec_git(self.git, "update-ref", f"{REMOTE_TAGS}/{name}/{tag}", sha)
                result.pushed += len(pending)
                return
            # Rejected: someone published first. Catch up, re-check, try again.
            self.fetch(name)
            before_parked = len(result.parked)
            self._integrate(name, branch, result)
            if len(result.parked) > before_parked:
                parked = result.parked[before_parked:]
                raise PublishConflict(
                    f"not published: {parked[0].subject!r}: {parked[0].reason}",
                    hint=f"the library now follows the remote; the change is kept under "
                         f"{parked[0].ref} (`git -C {self.git.root} show {parked[0].ref}`); "
                         "make it again on the current state",
                    parked=parked)
            time.sleep(random.uniform(0.0, min(2.0, 0.05 * 2 ** attempt)))
        raise ConflictError(
            f"could not publish to {name!r}: the remote kept moving ({MAX_ATTEMPTS} attempts)",
            hint="the change is committed here; `toolforge sync` publishes it later")

    def _push(self, name: str, branch: str, head: str, expected: str | None,
              tags: list[str]) -> str:
        """One compare-and-swap push: "ok", or "rejected" (the remote moved); raises
        RemoteUnreachable for anything else."""
        lease = f"--force-with-lease=refs/heads/{branch}:{expected or ''}"
        refspecs = [f"{head}:refs/heads/{branch}"] + [f"refs/tags/{t}:refs/tags/{t}"
                                                      for t in tags]
        proc = exec_git(self.git, "push", "--porcelain", "--atomic", "--no-verify", lease,
                        name, *refspecs, timeout_s=NETWORK_TIMEOUT_S)
        if proc.returncode == 0:
            return "ok"
        refused = [line for line in proc.stdout.decode("utf-8", "replace").splitlines()
                   if line.startswith("!")]
        remote_refused = [line for line in refused if "[remote rejected]" in line]
        if remote_refused:
            reason = remote_refused[0].rsplit("\t", 1)[-1]
            raise LibraryError(f"remote {name!r} refused the push: {reason}",
                               hint="a shared remote should be a bare repository you may "
                                    "push to (git init --bare)")
        if refused:
            return "rejected"  # the lease failed or a tag exists: someone published first
        raise RemoteUnreachable(f"cannot push to remote {name!r}: {_stderr(proc)}",
                                hint="the change is committed here; `toolforge sync` "
                                     "publishes it once the remote is reachable")

    def push_notes(self, name: str, result: SyncResult) -> None:
        """Validation reports, so other clones can tell what was validated. Best effort:
        a failure is a warning, and the next sync tries again."""
        remote_ref = f"{REMOTE_NOTES}/{name}/{NOTES_REF.removeprefix('refs/notes/')}"
        for _ in range(MAX_ATTEMPTS):
            local = self._rev(NOTES_REF)
            if local is None:
                return
            known = self._rev(remote_ref)
            if known == local or (known and self._is_ancestor(local, known)):
                return
            proc = exec_git(self.git, "push", "--porcelain", "--no-verify",
                            f"--force-with-lease={NOTES_REF}:{known or ''}", name,
                            f"{NOTES_REF}:{NOTES_REF}", timeout_s=NETWORK_TIMEOUT_S)
            if proc.returncode == 0:
                exec_git(self.git, "update-ref", remote_ref, local)
                return
            try:
                self.fetch(name)  # merges their notes into ours
            except RemoteUnreachable as exc:
                result.warnings.append(f"validation reports not published: {exc.message}")
                return
        result.warnings.append("validation reports not published: the remote kept moving")

    def _require_shared(self) -> str:
        name = self.shared_name()
        if name is None:
            names = [r.name for r in self.remotes()]
            if names:
                raise UsageError(
                    f"this library has several remotes ({', '.join(names)}) and none is "
                    "shared",
                    hint=f"choose one: git -C {self.git.root} config {SHARED_KEY} NAME")
            raise UsageError("this library has no remote",
                             hint="add one: `toolforge remote add origin URL`")
        return name

    # --- git helpers -------------------------------------------------------------------------

    def _git_ok(self, *args: str, input: bytes | None = None,
                env: dict[str, str] | None = None) -> bytes:
        proc = exec_git(self.git, *args, input=input, env=env)
        if proc.returncode != 0:
            raise LibraryError(f"git {args[0]} failed: {_stderr(proc)}")
        return proc.stdout

    def _rev(self, ref: str) -> str | None:
        proc = exec_git(self.git, "rev-parse", "-q", "--verify", f"{ref}^{{commit}}")
        sha = proc.stdout.decode().strip()
        if proc.returncode == 0 and sha:
            return sha
        if ref.startswith("refs/notes/") or "/remote-notes/" in ref:
            proc = exec_git(self.git, "rev-parse", "-q", "--verify", ref)
            sha = proc.stdout.decode().strip()
            return sha if proc.returncode == 0 and sha else None
        return None

    def _is_ancestor(self, a: str, b: str) -> bool:
        return exec_git(self.git, "merge-base", "--is-ancestor", a, b).returncode == 0

    def _merge_base(self, a: str, b: str) -> str | None:
        proc = exec_git(self.git, "merge-base", a, b)
        sha = proc.stdout.decode().strip()
        return sha if proc.returncode == 0 and sha else None

    def _count(self, a: str | None, b: str) -> int:
        spec = [b] if a is None else [f"{a}..{b}"]
        proc = exec_git(self.git, "rev-list", "--count", *spec)
        try:
            return int(proc.stdout.decode().strip() or 0)
        except ValueError:
            return 0

    def _commits(self, base: str | None, tip: str) -> list[_Commit]:
        spec = [tip] if base is None else [f"{base}..{tip}"]
        out = self._git_ok("log", "--reverse", "--format=%H%x00%P%x00%s%x1e", *spec)
        commits = []
        for record in out.decode("utf-8", "replace").split("\x1e"):
            record = record.strip("\n")
            if not record:
                continue
            sha, parents, subject = record.split("\0")
            commits.append(_Commit(sha, tuple(parents.split()), subject))
        return commits

    def _subjects(self, base: str, tip: str) -> list[str]:
        return [f"{c.sha[:12]} {c.subject}" for c in reversed(self._commits(base, tip))]

    def _changed_paths(self, a: str, b: str) -> set[str]:
        out = self._git_ok("diff", "--name-only", "-z", "--no-renames", a, b)
        return {p for p in out.decode("utf-8", "surrogateescape").split("\0") if p}

    def _refs(self, prefix: str) -> list[str]:
        return list(self._ref_values(prefix))

    def _ref_values(self, prefix: str) -> dict[str, str]:
        proc = exec_git(self.git, "for-each-ref", "--format=%(refname) %(*objectname)"
                        "%(objectname)", prefix)
        out: dict[str, str] = {}
        for line in proc.stdout.decode("utf-8", "replace").splitlines():
            ref, _, sha = line.partition(" ")
            if ref:
                out[ref] = sha[:40]
        return out

    def _tags_at(self, sha: str) -> list[str]:
        proc = exec_git(self.git, "tag", "--points-at", sha, "--list", f"{TAG_PREFIX}*")
        return proc.stdout.decode("utf-8", "replace").split()


def _unit(path: str) -> str:
    """What a path belongs to: a tool directory (tools/x, candidates/x — the same tool
    either way), or a file of the library's root."""
    parts = path.split("/")
    if len(parts) >= 2 and parts[0] in ("tools", "candidates"):
        return f"tool {parts[1]}"
    return parts[0]


def _stderr(proc: object) -> str:
    raw = getattr(proc, "stderr", b"") or b""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return " | ".join(lines[-3:])[:500] or f"exit status {getattr(proc, 'returncode', '?')}"
