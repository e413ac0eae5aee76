"""The git side of the library, through GitPython.

Writes go through the git CLI (`repo.git.*`): C-speed index updates on large libraries.
Reads of old versions go through GitPython's object database (a persistent `cat-file`
process), so showing or diffing versions costs no extra process per file. Hooks are
disabled on every call: tool code must never get a way to make git run it.
"""

from __future__ import annotations

import os
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from toolforge.errors import LibraryError, NotFoundError
from toolforge.library.crashpoints import step

_SAFE_CONFIG = (
    "-c",
    "core.hooksPath=/dev/null",
    "-c",
    "commit.gpgSign=false",
    "-c",
    "tag.gpgSign=false",
    "-c",
    "core.quotePath=false",
)
if TYPE_CHECKING:
    import git

FIELD = "\x1f"
RECORD = "\x1e"
LOG_FORMAT = FIELD.join(["%H", "%an", "%cI", "%s", "%(trailers:only,unfold)"]) + RECORD


@dataclass(frozen=True)
class TreeEntry:
    mode: str
    kind: str  # blob | tree | commit
    sha: str
    path: str


@dataclass(frozen=True)
class LogEntry:
    commit: str
    author: str
    date: str
    subject: str
    trailers: dict[str, str]


class GitRepo:
    def __init__(self, root: Path) -> None:
        git = _gitpython()  # ~50 ms to import; read-only commands never need it

        self.root = root
        try:
            self.repo = git.Repo(root)
        except (git.InvalidGitRepositoryError, git.NoSuchPathError):
            raise LibraryError(f"{root} is not a git repository")
        self._env = _identity_env(self.repo)

    @classmethod
    def init(cls, root: Path) -> GitRepo:
        git = _gitpython()
        repo = git.Repo.init(root, initial_branch="main")
        with repo.config_writer() as cfg:
            # Index v4 + untracked cache: status/add stay fast with tens of thousands of files.
            cfg.set_value("feature", "manyFiles", "true")
            cfg.set_value("core", "untrackedCache", "true")
            cfg.set_value("core", "commitGraph", "true")
        repo.close()
        return cls(root)

    def close(self) -> None:
        self.repo.close()

    # --- raw command -----------------------------------------------------------------------

    def run(self, *args: str, strip: bool = True) -> str:
        from git.exc import GitCommandError

        try:
            out = self.repo.git.execute(
                ["git", *_SAFE_CONFIG, *args],
                env=self._env,
                strip_newline_in_stdout=strip,
            )
        except GitCommandError as exc:
            detail = (exc.stderr or "").strip().removeprefix("stderr: ").strip("'\n ")
            raise LibraryError(f"git {args[0]} failed: {detail or exc}")
        return str(out)

    # --- reads ---------------------------------------------------------------------------------

    def head(self) -> str | None:
        try:
            return self.repo.head.commit.hexsha
        except ValueError:  # unborn branch
            return None

    def resolve(self, rev: str) -> str:
        """Resolve a revision to a commit sha; NotFoundError for anything else."""
        from git.exc import BadName, GitCommandError

        if rev.startswith("-"):
            raise NotFoundError(f"unknown revision {rev!r}")
        try:
            return self.repo.commit(rev).hexsha
        except (BadName, ValueError, GitCommandError):
            raise NotFoundError(
                f"unknown revision {rev!r}",
                hint="use a commit from `toolforge history` (sha, tag or e.g. HEAD~2)",
            )

    def read_blob(self, rev: str, path: str) -> str | None:
        """File contents at `rev`, or None when the path is absent there."""
        try:
            blob = self.repo.commit(rev).tree / path
        except KeyError:
            return None
        data: bytes = blob.data_stream.read()
        return data.decode("utf-8", errors="replace")

    def path_exists(self, rev: str, path: str) -> bool:
        try:
            self.repo.commit(rev).tree / path
        except KeyError:
            return False
        return True

    def ls_tree(self, rev: str, path: str, *, recursive: bool = True) -> list[TreeEntry]:
        """The entries under directory `path` at `rev` with their object ids: every file,
        or (not `recursive`) its direct children, trees included."""
        spec = path.rstrip("/") + "/"
        out = self.run("ls-tree", *(["-r"] if recursive else []), "-z", rev, "--", spec,
                       strip=False)
        entries = []
        for record in out.split("\0"):
            head, tab, name = record.partition("\t")
            if not tab:
                continue
            mode, kind, sha = head.split(" ", 2)
            entries.append(TreeEntry(mode=mode, kind=kind, sha=sha, path=name))
        return entries

    def read_many(self, names: list[str]) -> dict[str, tuple[str, bytes] | None]:
        """Several objects by name (`<sha>`, `<rev>:<path>`, `<ref>^{commit}`) through one
        `git cat-file --batch` process: (object id, content), or None when absent. Reading
        a catalog of thousands of tools costs one process instead of thousands of lookups."""
        import subprocess

        wanted = [n for n in dict.fromkeys(names) if n and "\n" not in n]
        if not wanted:
            return {}
        proc = subprocess.run(
            ["git", *_SAFE_CONFIG, "-C", str(self.root), "cat-file", "--batch"],
            input="".join(f"{n}\n" for n in wanted).encode(), capture_output=True,
            env=self._env, check=False,
        )
        if proc.returncode != 0:
            detail = proc.stderr.decode(errors="replace").strip()
            raise LibraryError(f"git cat-file failed: {detail or proc.returncode}")
        data = proc.stdout
        found: dict[str, tuple[str, bytes] | None] = {}
        pos = 0
        for name in wanted:
            end = data.index(b"\n", pos)
            header = data[pos:end].decode(errors="replace").split(" ")
            pos = end + 1
            if len(header) != 3 or not header[2].isdigit():  # "<name> missing" / ambiguous
                found[name] = None
                continue
            size = int(header[2])
            found[name] = (header[0], data[pos:pos + size])
            pos += size + 1
        return found

    def top_level_entries(self, rev: str) -> list[str]:
        return [str(item.path) for item in self.repo.commit(rev).tree]

    def tags(self, prefix: str) -> dict[str, str]:
        """Tags under `prefix` (e.g. "tool/x/") mapped to the commit they point to."""
        out = self.run(
            "for-each-ref", "--format=%(refname:strip=2) %(*objectname)%(objectname)",
            f"refs/tags/{prefix}",
        )
        result: dict[str, str] = {}
        for line in out.splitlines():
            name, _, sha = line.partition(" ")
            result[name] = sha[:40]
        return result

    def status(self, paths: list[str]) -> list[tuple[str, str]]:
        """(code, path) for uncommitted changes under `paths`, untracked files included."""
        if not paths:
            return []
        # --no-optional-locks: a status must not take .git/index.lock to refresh the index
        # (the daemon's watcher runs it in the background; a lock left for a moment would
        # fail the person's own git commands).
        out = self.run(
            "--no-optional-locks", "status", "--porcelain=v1", "-z", "--untracked-files=all",
            "--", *paths, strip=False,
        )
        entries: list[tuple[str, str]] = []
        parts = out.split("\0")
        i = 0
        while i < len(parts):
            item = parts[i]
            i += 1
            if len(item) < 4:
                continue
            code, path = item[:2], item[3:]
            if code[0] in "RC":  # renames carry the old path in the next field
                i += 1
            entries.append((code, path))
        return entries

    def log(
        self, paths: list[str] | None = None, *, limit: int | None = None, rev: str = "HEAD",
        grep: str | None = None,
    ) -> list[LogEntry]:
        """Commits newest first; only those touching `paths`, or whose message has a line
        matching the regular expression `grep`."""
        if self.head() is None:
            return []
        args = ["log", f"--format={LOG_FORMAT}"]
        if grep:
            args.append(f"--grep={grep}")
        if limit:
            args.append(f"-n{limit}")
        args.append(rev)
        if paths:
            args += ["--", *paths]
        return _parse_log(self.run(*args, strip=False))

    def log_entries(self, commits: list[str]) -> list[LogEntry]:
        """The log entries of exactly these commits, in this order (one git process)."""
        if not commits:
            return []
        out = self.run("log", "--no-walk=unsorted", f"--format={LOG_FORMAT}", *commits,
                       strip=False)
        return _parse_log(out)

    def message(self, rev: str) -> str:
        return str(self.repo.commit(rev).message)

    def parent(self, rev: str) -> str | None:
        parents = self.repo.commit(rev).parents
        return parents[0].hexsha if parents else None

    # --- writes --------------------------------------------------------------------------------

    def run_status(self, *args: str) -> int:
        """Exit status of a git command that answers by status (e.g. diff-index --quiet)."""
        status, _, _ = self.repo.git.execute(
            ["git", *_SAFE_CONFIG, *args], env=self._env, with_extended_output=True,
            with_exceptions=False,
        )
        return int(status)

    def commit_paths(self, message: str, paths: list[str], base: str | None) -> str:
        """Stage and commit exactly `paths` on top of `base`; other staged changes stay out.

        Fast path (nothing else staged): write-tree + commit-tree + update-ref, where the
        ref update names the old value, so it is an atomic compare-and-swap and the single
        commit point. `git commit --only` costs ~3x more on a 10k-tool index (it builds a
        temporary index and refreshes every entry), so it is kept for the case where the
        person has staged changes of their own."""
        self.run("add", "-A", "--", *paths)
        step()
        excludes = [f":(exclude){p}" for p in paths]
        if base is not None and self.run_status(
            "diff-index", "--cached", "--quiet", base, "--", ".", *excludes
        ) == 0:
            tree = self.run("write-tree")
            commit = self.run("commit-tree", tree, "-p", base, "-m", message)
            step()
            self.run("update-ref", "-m", f"toolforge: {message.splitlines()[0]}", "HEAD",
                     commit, base)
            step()
            return commit
        self.run("commit", "-q", "--no-verify", "-m", message, "--only", "--", *paths)
        return self.head() or ""

    def write_commit_graph(self) -> None:
        """Refresh the commit-graph with changed-path Bloom filters in the background, so
        path-limited history stays fast on long histories. Never waited for."""
        import subprocess

        subprocess.Popen(
            ["git", "-C", str(self.root), "commit-graph", "write", "--reachable",
             "--changed-paths", "--split"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True, env=self._env,
        )

    def commit_all(self, message: str) -> str:
        # Never the local state, whatever .gitignore says (library/localstate.py).
        self.run("add", "-A", ".")
        self.run("rm", "-r", "-q", "--cached", "--ignore-unmatch", "--", ".toolforge")
        self.run("commit", "-q", "--no-verify", "--allow-empty", "-m", message)
        return self.head() or ""

    def tag(self, name: str, rev: str) -> None:
        self.run("tag", name, rev)
        step()

    def restore_paths(self, rev: str | None, paths: list[str]) -> None:
        """Make index and work tree of `paths` equal to `rev` (absent there -> removed).

        Each file is replaced in one rename and files are written before anything is
        removed, so the tree never passes through a state that is neither old nor new
        file by file: `toolforge.toml` is never missing, a reader never sees half a file.
        Idempotent: run again after a kill, it finishes the job."""
        from toolforge.library.fsutil import atomic_write_bytes, remove_tree

        if not paths:
            return
        target = self.tree_files(rev, paths) if rev else {}
        stale = [p for p, (mode, sha) in target.items() if not _matches(self.root / p, mode, sha)]
        blobs = self.read_many(list(dict.fromkeys(target[p][1] for p in stale)))
        for rel in stale:
            mode, sha = target[rel]
            found = blobs.get(sha)
            if found is None:
                raise LibraryError(f"git object {sha[:12]} of {rel} is missing")
            path = self.root / rel
            _clear_way(self.root, rel)
            # No fsync: git's own checkout does not either, and the journal that called
            # this restore is still there to redo it after a crash.
            atomic_write_bytes(path, found[1], fsync=False, symlink=mode == "120000",
                               mode=0o755 if mode == "100755" else 0o644)
        keep_dirs = {str(parent) for p in target for parent in Path(p).parents}
        for rel in paths:
            for extra in _extras(self.root, rel, target, keep_dirs):
                remove_tree(extra)
        if rev is None:
            self.run("rm", "-r", "-q", "--cached", "--ignore-unmatch", "--", *paths)
        else:
            self.run("reset", "-q", rev, "--", *paths)
        step()
        self.run_status("update-index", "-q", "--refresh")  # stat info of the new files

    def tree_files(self, rev: str, paths: list[str]) -> dict[str, tuple[str, str]]:
        """path -> (mode, blob id) of every file under `paths` at `rev` (submodules left
        out: a library has none)."""
        out = self.run("ls-tree", "-r", "-z", "--full-tree", rev, "--", *paths, strip=False)
        files: dict[str, tuple[str, str]] = {}
        for record in out.split("\0"):
            head, tab, name = record.partition("\t")
            if tab:
                mode, kind, sha = head.split(" ", 2)
                if kind == "blob":
                    files[name] = (mode, sha)
        return files


def _matches(path: Path, mode: str, sha: str) -> bool:
    """Whether the work-tree file at `path` already holds blob `sha` with `mode`."""
    from toolforge.library.refs import blob_id

    try:
        st = path.lstat()
        if mode == "120000":
            return stat.S_ISLNK(st.st_mode) and blob_id(os.fsencode(os.readlink(path))) == sha
        if not stat.S_ISREG(st.st_mode) or bool(st.st_mode & 0o100) != (mode == "100755"):
            return False
        return blob_id(path.read_bytes()) == sha
    except OSError:
        return False


def _clear_way(root: Path, rel: str) -> None:
    """Make room for a file at `rel`: a file where a directory of its path must be, or a
    directory where the file must be, goes."""
    from toolforge.library.fsutil import remove_tree

    parts = Path(rel).parts
    for i in range(1, len(parts)):
        p = root.joinpath(*parts[:i])
        if p.is_symlink() or (p.exists() and not p.is_dir()):
            p.unlink()
    p = root / rel
    if p.is_dir() and not p.is_symlink():
        remove_tree(p)


def _extras(root: Path, rel: str, target: dict[str, tuple[str, str]],
            keep_dirs: set[str]) -> list[Path]:
    """What is under `rel` in the work tree but not in `target`: whole directories that
    hold no target file, and single files."""
    top = root / rel
    if not top.is_dir() or top.is_symlink():
        return [top] if (top.exists() or top.is_symlink()) and rel not in target else []
    if rel not in keep_dirs:
        return [top]
    out: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(top):
        here = Path(dirpath).relative_to(root)
        for d in list(dirnames):
            sub = here / d
            if (root / sub).is_symlink():
                filenames.append(d)
                dirnames.remove(d)
            elif str(sub) not in keep_dirs:
                out.append(root / sub)
                dirnames.remove(d)
        out += [root / here / f for f in filenames if str(here / f) not in target]
    return out


def _parse_log(out: str) -> list[LogEntry]:
    entries = []
    for record in out.split(RECORD):
        record = record.strip("\n")
        if not record:
            continue
        sha, author, date, subject, trailer_text = record.split(FIELD)
        trailers: dict[str, str] = {}
        for line in trailer_text.splitlines():
            key, sep, value = line.partition(":")
            if sep:
                trailers[key.strip()] = value.strip()
        entries.append(LogEntry(sha, author, date, subject, trailers))
    return entries
def _gitpython() -> ModuleType:
    """GitPython, or a clear error when there is no git to drive (a fresh machine)."""
    try:
        import git
    except ImportError as exc:  # GitPython refuses to import without a git executable
        detail = (str(exc).splitlines() or ["?"])[0].removeprefix("Failed to initialize: ")
        raise LibraryError(f"git is not installed or not usable ({detail})",
                           hint="sudo apt-get install -y git")
    return git


def _identity_env(repo: git.Repo) -> dict[str, str]:
    """Commits carry the person's git identity when one is configured, else toolforge's."""
    env = dict(os.environ)
    env["GIT_TERMINAL_PROMPT"] = "0"
    reader = repo.config_reader()
    for kind in ("AUTHOR", "COMMITTER"):
        if not reader.get_value("user", "name", "") and f"GIT_{kind}_NAME" not in env:
            env[f"GIT_{kind}_NAME"] = "toolforge"
        if not reader.get_value("user", "email", "") and f"GIT_{kind}_EMAIL" not in env:
            env[f"GIT_{kind}_EMAIL"] = "toolforge@localhost"
    return env


def git_command(root: Path, *args: str) -> list[str]:
    """The argument list of a git command in `root` with toolforge's safe settings."""
    return ["git", *_SAFE_CONFIG, "-C", str(root), *args]


def exec_git(repo: GitRepo, *args: str, input: bytes | None = None,
             env: dict[str, str] | None = None, timeout_s: float | None = None
             ) -> subprocess.CompletedProcess[bytes]:
    """Run git in `repo` with toolforge's safe settings (no hooks, no signing) and return the
    finished process: for commands whose exit status is the answer (a rejected push, a
    missing ref) and for plumbing fed on stdin. Never raises for a failed command."""
    merged = dict(repo._env)
    if env:
        merged.update(env)
    try:
        return subprocess.run(
            ["git", *_SAFE_CONFIG, "-C", str(repo.root), *args], input=input,
            capture_output=True, env=merged, check=False, timeout=timeout_s,
        )
    except subprocess.TimeoutExpired as exc:
        return subprocess.CompletedProcess(exc.cmd, 124, exc.stdout or b"",
                                           (exc.stderr or b"") + b"\ntimed out")
