"""Hybrid retrieval over the library's active tools: the one search API of toolforge.

    ToolIndex.for_library(root).search("convert Celsius to Kelvin", k=5)

Every caller uses it: the built-in agent's top-k (ToolBox.select), TTE's per-sub-goal
retrieval, and the MCP server's `find_tools`.

**Ranking.** Each tool is indexed through several views (name, signature, docstring,
examples from its tests, the sub-goal it was made for: see `views.py`). For a query, BM25
(the `bm25s` package) and dense cosine similarity (`wordllama`, offline) each rank the tools
within every view; the rankings are fused by reciprocal rank (RRF, k=60). A tool that
matches in several views and by both methods rises; one that shares a single word with a
single field does not.

**Hit or miss.** RRF orders but says nothing about how good the best match is (something
always ranks first). Each result therefore also gets an absolute `score` in [0, 1]:
0.6 x its best dense cosine over its views + 0.4 x the IDF-weighted share of the query's
words and word pairs that appear in the tool (BM25-only mode: the share alone). TTE's
tau_ret compares against this score; `toolforge calibrate` fits it on labelled pairs.

**Persistence.** The index lives in `<library>/.toolforge/retrieval/` (vectors, the bm25s
index, a manifest of the views) and follows the library's commits: each search compares
the commit it was built at with HEAD (two small file reads), and when the library moved it
re-reads only the tools whose files changed (`git diff --name-only`: a promote, retire or
rollback touches one tool), re-embeds only those, and rebuilds the BM25 matrix. Writers
take a file lock; a new generation is written beside the old one and swapped in with one
rename, so readers in other processes never see half an index. The files are a cache:
anything unreadable is rebuilt from the library.

numpy, bm25s and wordllama are imported on first use, never on the CLI's hot path.
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import threading
import uuid
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from toolforge.retrieval import text as textmod
from toolforge.retrieval.dense import Embedder, dense_status, load_embedder
from toolforge.retrieval.views import VIEWS, ToolDoc, tool_doc

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

INDEX_DIR = "retrieval"
FORMAT = 1
RRF_K = 60
DENSE_WEIGHT = 0.6
BIGRAM_WEIGHT = 0.5  # word pairs count half: paraphrases rarely keep them
_CACHE_SIZE = 16


class SearchHit(BaseModel):
    """One result: `score` decides hit or miss (tau_ret), `rrf` decides the order."""

    tool: str
    score: float = Field(description="absolute similarity in [0, 1]")
    rrf: float = Field(description="reciprocal-rank fusion of the per-view rankings")
    dense: float | None = Field(default=None, description="best cosine over the views")
    lexical: float = Field(description="IDF-weighted share of query terms found in the tool")
    views: list[str] = Field(default_factory=list,
                             description="the views where the tool ranked in the top k")


@dataclass(frozen=True)
class _State:
    """An immutable snapshot; searches use whichever snapshot they started with."""

    head: str | None
    dense_model: str | None
    docs: list[ToolDoc]  # sorted by name
    row_tool: Any  # np.ndarray[int32]: row -> tool index
    row_view: Any  # np.ndarray[int8]: row -> view index
    starts: Any  # np.ndarray[int64]: tool i's rows are starts[i]:starts[i+1]
    view_rows: list[Any]  # per view, the rows of that view
    vectors: Any  # np.ndarray[float32] (rows, dim) or None
    bm25: Any  # bm25s.BM25 or None (no tokens at all)
    # Token ids per row and their vocabulary: kept so that an update tokenizes only the
    # tools that changed (tokenizing every view is most of a rebuild).
    token_ids: list[list[int]] | None = None

    @property
    def n_rows(self) -> int:
        return int(self.row_tool.shape[0])

    @cached_property
    def by_name(self) -> dict[str, int]:
        return {d.name: i for i, d in enumerate(self.docs)}


class ToolIndex:
    """Search over a set of tools. `for_library()` follows a library and persists; the
    `from_docs()` form indexes given tools in memory (calibration, ad-hoc tool sets)."""

    def __init__(self, root: Path | None = None, docs: Iterable[ToolDoc] | None = None
                 ) -> None:
        self.root = root
        self._lock = threading.Lock()
        self._state: _State | None = None
        self._generation: str | None = None
        self._persist_ok = root is not None
        self._embedder: Embedder | None = None
        self._embedder_loaded = False
        if docs is not None:
            self._state = _build(list(docs), self._dense(), None, None)

    # --- construction ------------------------------------------------------------------------

    @classmethod
    def for_library(cls, root: Path) -> ToolIndex:
        """The index of `root`'s active tools (one per library per process)."""
        key = Path(root).resolve()
        with _CACHE_LOCK:
            index = _CACHE.get(key)
            if index is None:
                index = cls(key)
                _CACHE[key] = index
                while len(_CACHE) > _CACHE_SIZE:
                    _CACHE.popitem(last=False)
            else:
                _CACHE.move_to_end(key)
        return index

    @classmethod
    def from_docs(cls, docs: Iterable[ToolDoc]) -> ToolIndex:
        return cls(None, docs)

    # --- facts -------------------------------------------------------------------------------

    @property
    def mode(self) -> Literal["hybrid", "bm25"]:
        return "hybrid" if self._dense() is not None else "bm25"

    @property
    def status(self) -> str:
        """Which dense model is in use, or why retrieval is BM25 only."""
        self._dense()
        return dense_status()

    def names(self) -> list[str]:
        return [d.name for d in self._current().docs]

    def doc(self, name: str) -> ToolDoc | None:
        st = self._current()
        i = st.by_name.get(name)
        return None if i is None else st.docs[i]

    def __len__(self) -> int:
        return len(self._current().docs)

    # --- search ------------------------------------------------------------------------------

    def search(self, query: str, k: int = 5, *, allowed: Iterable[str] | None = None,
               methods: tuple[str, ...] = ("bm25", "dense")) -> list[SearchHit]:
        """The k best tools for `query`, best first (fewer when fewer match at all).
        `allowed` restricts the search to those tool names; `methods` picks the rankings
        to fuse ("bm25", "dense"; both by default, the benchmark compares them alone)."""
        import numpy as np

        st = self._current()
        if k <= 0 or not st.docs or not query.strip():
            return []
        query_tokens = textmod.tokens(query)
        lexical = _bm25_scores(st, query_tokens) if "bm25" in methods else None
        dense = self._dense_scores(st, query) if "dense" in methods else None
        if lexical is None and dense is None:
            return []
        n_tools = len(st.docs)
        allowed_mask = None
        if allowed is not None:
            wanted = set(allowed)
            allowed_mask = np.array([d.name in wanted for d in st.docs], dtype=bool)
        rrf = np.zeros(n_tools, dtype=np.float64)
        votes: dict[int, set[str]] = {}
        depth = max(20, 4 * k)
        for view_index, rows in enumerate(st.view_rows):
            if rows.size == 0:
                continue
            tools_of_rows = st.row_tool[rows]
            for scores in (lexical, dense):
                if scores is None:
                    continue
                values = scores[rows].astype(np.float64)
                if allowed_mask is not None:
                    values[~allowed_mask[tools_of_rows]] = 0.0
                for rank, row in enumerate(_top_positive(values, depth)):
                    tool = int(tools_of_rows[row])
                    rrf[tool] += 1.0 / (RRF_K + rank + 1)
                    if rank < k:
                        votes.setdefault(tool, set()).add(VIEWS[view_index])
        ranked = [int(i) for i in np.nonzero(rrf > 0)[0]]
        ranked.sort(key=lambda i: (-rrf[i], st.docs[i].name))
        hits = []
        for tool in ranked[:k]:
            hit = _absolute(st, tool, query_tokens, dense)
            hit.rrf = round(float(rrf[tool]), 6)
            hit.views = [v for v in VIEWS if v in votes.get(tool, set())]
            hits.append(hit)
        return hits

    def score(self, query: str, name: str) -> SearchHit | None:
        """The absolute score of one tool for `query` (whatever its rank); None when the
        tool is not indexed. Calibration labels pairs with this."""
        st = self._current()
        i = st.by_name.get(name)
        if i is None:
            return None
        return _absolute(st, i, textmod.tokens(query), self._dense_scores(st, query))

    # --- dense -------------------------------------------------------------------------------

    def _dense(self) -> Embedder | None:
        if not self._embedder_loaded:
            self._embedder = load_embedder()
            self._embedder_loaded = True
        return self._embedder

    def _dense_scores(self, st: _State, query: str) -> np.ndarray | None:
        import numpy as np

        embedder = self._dense()
        if embedder is None or st.vectors is None or st.dense_model != embedder.name:
            return None
        # einsum, not `@`: a matrix-vector product is memory-bound, and multithreaded BLAS
        # made it 10x slower on a busy 2-core machine than this single-threaded loop.
        result: np.ndarray = np.einsum("ij,j->i", st.vectors, embedder.embed_one(query))
        return result

    # --- following the library -----------------------------------------------------------

    def refresh(self) -> None:
        """Bring the index up to date with the library now (searches do this themselves)."""
        self._current()

    def _current(self) -> _State:
        if self.root is None:
            assert self._state is not None
            return self._state
        head = _head(self.root)
        st = self._state
        if st is not None and head is not None and st.head == head:
            return st
        # While another thread brings the index up to date, serve the previous snapshot
        # rather than wait (seconds at 10k tools); the updating thread itself is current.
        if not self._lock.acquire(blocking=st is None):
            assert st is not None
            return st
        try:
            st = self._state
            if st is not None and head is not None and st.head == head:
                return st
            self._state = self._sync(head)
            return self._state
        finally:
            self._lock.release()

    def _sync(self, head: str | None) -> _State:
        assert self.root is not None
        from toolforge.library.lock import library_lock

        embedder = self._dense()
        directory = self.root / ".toolforge" / INDEX_DIR
        loaded = self._state or self._load(directory, embedder)
        if loaded is not None and head is not None and loaded.head == head:
            return loaded
        if not self._persist_ok:
            return _build(self._docs_now(loaded, head), embedder, loaded, head)
        try:
            with library_lock(directory, timeout_s=60):
                # Another process may have brought the index up to date meanwhile.
                fresher = self._load(directory, embedder)
                if fresher is not None and head is not None and fresher.head == head:
                    return fresher
                base = fresher or loaded
                state = _build(self._docs_now(base, head), embedder, base, head)
                self._save(directory, state)
                return state
        except OSError as exc:  # a read-only library: keep the index in memory
            log.warning("retrieval index not saved in %s: %s", directory, exc)
            self._persist_ok = False
            return _build(self._docs_now(loaded, head), embedder, loaded, head)

    def _docs_now(self, base: _State | None, head: str | None) -> list[ToolDoc]:
        """The library's active tools, re-reading only what changed since `base`."""
        assert self.root is not None
        changed = _changed_tools(self.root, base.head, head) if base is not None else None
        if base is None or changed is None:
            return _scan(self.root)
        docs = {d.name: d for d in base.docs}
        for name in changed:
            doc = read_tool_doc(self.root, name)
            if doc is None:
                docs.pop(name, None)
            else:
                docs[name] = doc
        return list(docs.values())

    # --- files -------------------------------------------------------------------------------

    def _load(self, directory: Path, embedder: Embedder | None) -> _State | None:
        try:
            generation = (directory / "current").read_text(encoding="utf-8").strip()
            if not generation.startswith("g-") or "/" in generation:
                return None
            if self._state is not None and generation == self._generation:
                return self._state
            return self._load_generation(directory / generation, generation, embedder)
        except FileNotFoundError:
            return None
        except Exception as exc:  # a cache: anything wrong with it means "rebuild"
            log.warning("retrieval index in %s unreadable, rebuilding: %s", directory, exc)
            return None

    def _load_generation(self, path: Path, generation: str, embedder: Embedder | None
                         ) -> _State | None:
        import numpy as np

        manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
        if manifest.get("format") != FORMAT:
            return None
        docs = [ToolDoc(name=str(d["name"]), version=int(d["version"]),
                        views={str(k): str(v) for k, v in d["views"].items() if k in VIEWS})
                for d in manifest["docs"]]
        head = manifest.get("head")
        shell = _assemble(docs, None, None, head, None)
        vectors = None
        if embedder is not None and manifest.get("dense_model") == embedder.name:
            vectors = np.load(path / "vectors.npy", allow_pickle=False)
            if vectors.shape != (shell.n_rows, embedder.dim) or vectors.dtype != np.float32:
                vectors = None
        bm25 = token_ids = None
        if (path / "bm25").is_dir():
            bm25 = _bm25s().BM25.load(path / "bm25", mmap=False, show_progress=False)
            flat = np.load(path / "token_ids.npy", allow_pickle=False)
            offsets = np.load(path / "token_offsets.npy", allow_pickle=False)
            if int(bm25.scores.get("num_docs", -1)) != shell.n_rows \
                    or offsets.shape != (shell.n_rows + 1,):
                bm25 = None
            else:
                ids = flat.tolist()
                bounds = offsets.tolist()
                token_ids = [ids[bounds[i]:bounds[i + 1]] for i in range(shell.n_rows)]
        state = _assemble(docs, vectors, bm25, head,
                          manifest.get("dense_model") if vectors is not None else None,
                          token_ids)
        if (embedder is not None and vectors is None) or (bm25 is None and _has_tokens(docs)):
            # A changed model, or a damaged part: rebuild what is missing, reuse the rest.
            state = _build(docs, embedder, state, head)
        self._generation = generation
        return state

    def _save(self, directory: Path, state: _State) -> None:
        import numpy as np

        directory.mkdir(parents=True, exist_ok=True)
        generation = f"g-{uuid.uuid4().hex[:12]}"
        tmp = directory / generation
        tmp.mkdir()
        manifest = {
            "format": FORMAT, "head": state.head, "dense_model": state.dense_model,
            "docs": [{"name": d.name, "version": d.version, "views": d.views}
                     for d in state.docs],
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False),
                                           encoding="utf-8")
        if state.vectors is not None:
            np.save(tmp / "vectors.npy", state.vectors, allow_pickle=False)
        if state.bm25 is not None and state.token_ids is not None:
            state.bm25.save(tmp / "bm25", show_progress=False)
            offsets = np.cumsum([0, *(len(ids) for ids in state.token_ids)], dtype=np.int64)
            flat = np.fromiter((i for ids in state.token_ids for i in ids), dtype=np.int32,
                               count=int(offsets[-1]))
            np.save(tmp / "token_ids.npy", flat, allow_pickle=False)
            np.save(tmp / "token_offsets.npy", offsets, allow_pickle=False)
        pointer = directory / f"current.{generation}"
        pointer.write_text(generation, encoding="utf-8")
        os.replace(pointer, directory / "current")  # the single switch-over point
        self._generation = generation
        for old in directory.iterdir():
            if old.name.startswith("g-") and old.name != generation:
                shutil.rmtree(old, ignore_errors=True)


_CACHE: OrderedDict[Path, ToolIndex] = OrderedDict()
_CACHE_LOCK = threading.Lock()


# --- reading the library -----------------------------------------------------------------------


def read_tool_doc(root: Path, name: str) -> ToolDoc | None:
    """The indexed form of an active tool, or None (not active, or unreadable: a broken
    tool is simply not offered)."""
    from toolforge.errors import ToolforgeError
    from toolforge.library.meta import parse_meta
    from toolforge.library.store import META_FILE, TEST_FILE, TOOL_FILE, TOOLS_DIR
    from toolforge.names import is_valid_tool_name
    from toolforge.tools.contract import load_tool_source

    if not is_valid_tool_name(name):
        return None
    from toolforge.library.incoming import read_optional_source, read_source

    d = root / TOOLS_DIR / name
    try:  # as files coming in: never through a symlink (the text may go to an embedder)
        meta = parse_meta(read_source(d / META_FILE))
        if meta.status != "active":
            return None
        code = read_source(d / TOOL_FILE)
        spec = load_tool_source(code)
        tests = read_optional_source(d / TEST_FILE)
    except (OSError, UnicodeDecodeError, ToolforgeError):
        return None
    return tool_doc(name, meta.version, spec, meta, tests)


def _scan(root: Path) -> list[ToolDoc]:
    from toolforge.library.store import TOOLS_DIR

    docs = []
    try:
        names = sorted(e.name for e in os.scandir(root / TOOLS_DIR)
                       if e.is_dir(follow_symlinks=False) and not e.name.startswith("."))
    except FileNotFoundError:
        return []
    for name in names:
        doc = read_tool_doc(root, name)
        if doc is not None:
            docs.append(doc)
    return docs


def _head(root: Path) -> str | None:
    from toolforge.errors import ToolforgeError
    from toolforge.library.gitrepo import GitRepo
    from toolforge.library.refs import git_head

    head: str | None = git_head(root / ".git")
    if head is not None and len(head) != 40:
        head = None  # unborn branch or an unusual layout
    if head is None and (root / ".git").exists():
        try:  # an unusual .git layout: ask git (slower, still correct)
            repo = GitRepo(root)
            try:
                head = repo.head()
            finally:
                repo.close()
        except ToolforgeError:
            return None
    return head


def _changed_tools(root: Path, old: str | None, new: str | None) -> set[str] | None:
    """Names of the tools whose files changed between two commits; None: unknown."""
    if not old or not new:
        return None
    from toolforge.errors import ToolforgeError
    from toolforge.library.gitrepo import GitRepo

    try:
        repo = GitRepo(root)
        try:
            out = repo.run("diff", "--name-only", "--no-renames", old, new, "--", "tools")
        finally:
            repo.close()
    except ToolforgeError:
        return None
    names = set()
    for line in out.splitlines():
        parts = line.strip().split("/")
        if len(parts) >= 2 and parts[0] == "tools":
            names.add(parts[1])
    return names


# --- building ----------------------------------------------------------------------------------


def _has_tokens(docs: list[ToolDoc]) -> bool:
    return any(textmod.tokens(v) for d in docs for v in d.views.values())


def _assemble(docs: list[ToolDoc], vectors: Any, bm25: Any, head: str | None,
              dense_model: str | None, token_ids: list[list[int]] | None = None) -> _State:
    import numpy as np

    docs = sorted(docs, key=lambda d: d.name)
    row_tool: list[int] = []
    row_view: list[int] = []
    starts = [0]
    for i, d in enumerate(docs):
        for v, view in enumerate(VIEWS):
            if view in d.views:
                row_tool.append(i)
                row_view.append(v)
        starts.append(len(row_tool))
    rv = np.asarray(row_view, dtype=np.int8)
    return _State(
        head=head, dense_model=dense_model, docs=docs,
        row_tool=np.asarray(row_tool, dtype=np.int32), row_view=rv,
        starts=np.asarray(starts, dtype=np.int64),
        view_rows=[np.nonzero(rv == v)[0] for v in range(len(VIEWS))],
        vectors=vectors, bm25=bm25, token_ids=token_ids,
    )


def _build(docs: list[ToolDoc], embedder: Embedder | None, previous: _State | None,
           head: str | None) -> _State:
    """A state for `docs`, reusing `previous`'s vectors and tokens for the tools whose views
    did not change (embedding and tokenizing are the expensive parts); the BM25 matrix is
    rebuilt (its IDF is global)."""
    import numpy as np

    shell = _assemble(docs, None, None, head, None)
    docs = shell.docs
    old: dict[str, tuple[str, int, int]] = {}
    if previous is not None:
        for i, d in enumerate(previous.docs):
            old[d.name] = (d.digest, int(previous.starts[i]), int(previous.starts[i + 1]))

    def unchanged(d: ToolDoc, start: int, end: int) -> tuple[int, int] | None:
        found = old.get(d.name)
        if found is None or found[0] != d.digest or found[2] - found[1] != end - start:
            return None
        return found[1], found[2]

    vectors = None
    dense_model = None
    if embedder is not None:
        vectors = np.zeros((shell.n_rows, embedder.dim), dtype=np.float32)
        reuse_vectors = previous is not None and previous.vectors is not None \
            and previous.dense_model == embedder.name
        todo_rows: list[int] = []
        todo_text: list[str] = []
        for i, d in enumerate(docs):
            start, end = int(shell.starts[i]), int(shell.starts[i + 1])
            same = unchanged(d, start, end) if reuse_vectors else None
            if same is not None:
                assert previous is not None
                vectors[start:end] = previous.vectors[same[0]:same[1]]
                continue
            todo_rows.extend(range(start, end))
            todo_text.extend(d.views[v] for v in VIEWS if v in d.views)
        if todo_text:
            vectors[todo_rows] = embedder.embed(todo_text)
        dense_model = embedder.name
    vocab: dict[str, int] = {}
    reuse_tokens = previous is not None and previous.token_ids is not None \
        and previous.bm25 is not None
    if reuse_tokens:
        assert previous is not None
        vocab = dict(previous.bm25.vocab_dict)
    token_ids: list[list[int]] = []
    for i, d in enumerate(docs):
        start, end = int(shell.starts[i]), int(shell.starts[i + 1])
        same = unchanged(d, start, end) if reuse_tokens else None
        if same is not None:
            assert previous is not None and previous.token_ids is not None
            token_ids.extend(previous.token_ids[same[0]:same[1]])
            continue
        for view in VIEWS:
            if view in d.views:
                token_ids.append([vocab.setdefault(t, len(vocab))
                                  for t in textmod.tokens(d.views[view])])
    bm25 = _bm25(token_ids, vocab)
    return _assemble(docs, vectors, bm25, head, dense_model,
                     token_ids if bm25 is not None else None)


def _bm25s() -> Any:
    import bm25s

    # bm25s sets its own logger to DEBUG at import; its progress notes are not ours to print.
    logging.getLogger("bm25s").setLevel(logging.WARNING)
    return bm25s


def _bm25(token_ids: list[list[int]], vocab: dict[str, int]) -> Any:
    if not any(token_ids):
        return None
    index = _bm25s().BM25()
    index.index((token_ids, dict(vocab)), show_progress=False)  # it adds "" to the dict
    return index


# --- scoring -----------------------------------------------------------------------------------


def _bm25_scores(st: _State, query_tokens: list[str]) -> np.ndarray | None:
    if st.bm25 is None or not query_tokens:
        return None
    ids = st.bm25.get_tokens_ids(query_tokens)
    if not ids:
        return None
    scores: np.ndarray = st.bm25.get_scores_from_ids(ids)
    return scores


def _top_positive(values: np.ndarray, depth: int) -> list[int]:
    """Indexes of the `depth` largest positive values, largest first (ties: lower index)."""
    import numpy as np

    positive = np.nonzero(values > 0)[0]
    if positive.size == 0:
        return []
    if positive.size > depth:
        part = np.argpartition(-values[positive], depth - 1)[:depth]
        positive = positive[part]
    order = sorted(positive.tolist(), key=lambda i: (-values[i], i))
    return order


def _term_rows(st: _State, term: str) -> Any:
    """The rows (views) that contain `term`, from the BM25 matrix's column of it."""
    import numpy as np

    if st.bm25 is None:
        return np.zeros(0, dtype=np.int64)
    tid = st.bm25.vocab_dict.get(term)
    if tid is None:
        return np.zeros(0, dtype=np.int64)
    indptr = st.bm25.scores["indptr"]
    return st.bm25.scores["indices"][int(indptr[tid]):int(indptr[tid + 1])]


def _absolute(st: _State, tool: int, query_tokens: list[str], dense: np.ndarray | None
              ) -> SearchHit:
    start, end = int(st.starts[tool]), int(st.starts[tool + 1])
    n_rows = max(st.n_rows, 1)
    total = matched = 0.0
    for term in dict.fromkeys(query_tokens):
        rows = _term_rows(st, term)
        df = int(rows.size)
        weight = math.log(1 + (n_rows - df + 0.5) / (df + 0.5))
        if textmod.is_bigram(term):
            weight *= BIGRAM_WEIGHT
        total += weight
        if df and bool(((rows >= start) & (rows < end)).any()):
            matched += weight
    coverage = matched / total if total > 0 else 0.0
    best = None
    if dense is not None and end > start:
        best = float(dense[start:end].max())
    if best is None:
        score = coverage
    else:
        score = DENSE_WEIGHT * max(0.0, best) + (1 - DENSE_WEIGHT) * coverage
    return SearchHit(tool=st.docs[tool].name, score=round(min(1.0, max(0.0, score)), 4),
                     rrf=0.0, dense=None if best is None else round(best, 4),
                     lexical=round(coverage, 4))


# --- similarity between two texts ---------------------------------------------------------------


def text_similarity(a: str, b: str) -> float:
    """How alike two descriptions read, in [0, 1]: dense cosine when the model is loaded,
    word overlap otherwise. Dedup combines this with behaviour."""
    embedder = load_embedder()
    if embedder is None:
        return textmod.jaccard(a, b)
    va, vb = embedder.embed([a, b])
    return max(0.0, min(1.0, float(va @ vb)))

