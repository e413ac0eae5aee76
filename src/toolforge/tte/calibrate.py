"""Fitting tau_ret and tau_dup on labelled pairs by maximising F1 (as the TTE paper does).

A pairs file is JSONL, one labelled pair per line (blank lines and `#` comments skipped):

    {"kind": "retrieval", "query": "convert Celsius to Kelvin", "tool": "celsius_to_kelvin",
     "match": true}
    {"kind": "dedup", "a": "celsius_to_kelvin", "b": {"code": "def c_to_k(t: float) ..."},
     "duplicate": true}

A tool is the name of an active tool of the library, or an object with its `code` (and
optionally `tests`, `made_for`: the sub-goal it was made for). Retrieval pairs are scored
with the retrieval score (the one tau_ret is compared with), dedup pairs with the dedup
similarity (text + behaviour in the sandbox). The threshold kept is the one with the best
F1 of "score >= threshold" against the labels (ties: the better precision, then the middle
of the tied range), placed halfway between two observed scores.
"""

from __future__ import annotations

import json
from itertools import pairwise
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from toolforge.errors import NotFoundError, ToolforgeError

PAIR_KINDS = ("retrieval", "dedup")


class PairsFileError(ToolforgeError):
    http_status = 422
    kind = "pairs_file"


class ToolRef(BaseModel):
    name: str | None = None  # an active tool of the library
    code: str | None = None
    tests: str = ""
    made_for: str = ""


class Pair(BaseModel):
    line: int
    kind: Literal["retrieval", "dedup"]
    label: bool
    query: str | None = None
    tool: ToolRef | None = None
    a: ToolRef | None = None
    b: ToolRef | None = None


class ScoredPair(BaseModel):
    line: int
    kind: str
    label: bool
    score: float
    what: str


class Fit(BaseModel):
    threshold: float
    f1: float
    precision: float
    recall: float
    tp: int
    fp: int
    fn: int
    tn: int
    pairs: int


class CalibrationReport(BaseModel):
    pairs_file: str
    retrieval: Fit | None = None
    dedup: Fit | None = None
    scored: list[ScoredPair] = Field(default_factory=list)
    saved: bool = False
    commit: str | None = None
    retrieval_mode: str = ""


def load_pairs(path: Path) -> list[Pair]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotFoundError(f"pairs file {path} does not exist")
    except (IsADirectoryError, UnicodeDecodeError):
        raise PairsFileError(f"{path} is not a UTF-8 text file")
    pairs = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        pairs.append(_pair(stripped, lineno, f"{path}:{lineno}"))
    if not pairs:
        raise PairsFileError(f"{path} has no labelled pairs",
                             hint="see docs/tte.md#calibrating-the-thresholds")
    return pairs


def _pair(line: str, lineno: int, where: str) -> Pair:
    hint = "see docs/tte.md#calibrating-the-thresholds for the format"
    try:
        data = json.loads(line)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise PairsFileError(f"{where}: bad JSON: {exc}", hint=hint)
    if not isinstance(data, dict):
        raise PairsFileError(f"{where}: expected a JSON object", hint=hint)
    kind = data.get("kind")
    if kind == "retrieval":
        query, label = data.get("query"), data.get("match")
        if not isinstance(query, str) or not query.strip():
            raise PairsFileError(f'{where}: a retrieval pair needs a "query"', hint=hint)
        if not isinstance(label, bool):
            raise PairsFileError(f'{where}: "match" must be true or false', hint=hint)
        return Pair(line=lineno, kind="retrieval", label=label, query=query,
                    tool=_ref(data.get("tool"), where, "tool"))
    if kind == "dedup":
        label = data.get("duplicate")
        if not isinstance(label, bool):
            raise PairsFileError(f'{where}: "duplicate" must be true or false', hint=hint)
        return Pair(line=lineno, kind="dedup", label=label, a=_ref(data.get("a"), where, "a"),
                    b=_ref(data.get("b"), where, "b"))
    raise PairsFileError(f"{where}: unknown kind {kind!r}",
                         hint='"kind" is "retrieval" or "dedup"')


def _ref(raw: Any, where: str, field: str) -> ToolRef:
    if isinstance(raw, str) and raw.strip():
        return ToolRef(name=raw.strip())
    if isinstance(raw, dict) and isinstance(raw.get("code"), str) and raw["code"].strip():
        return ToolRef(code=raw["code"], tests=str(raw.get("tests") or ""),
                       made_for=str(raw.get("made_for") or ""),
                       name=raw.get("name") if isinstance(raw.get("name"), str) else None)
    raise PairsFileError(f'{where}: "{field}" must name a library tool or be an object '
                         'with its "code"')


def fit_threshold(scored: list[tuple[float, bool]]) -> Fit | None:
    """The threshold maximising F1 of `score >= threshold`; None without any positive."""
    if not scored or not any(label for _, label in scored):
        return None
    values = sorted({s for s, _ in scored})
    # Cut points: below everything, halfway between neighbours, above everything.
    cuts = [values[0] - 1e-6] + [(a + b) / 2 for a, b in pairwise(values)]
    cuts.append(values[-1] + 1e-6)
    fits = [(cut, _confusion(scored, cut)) for cut in cuts]
    top = max((fit.f1, fit.precision) for _, fit in fits)
    tied = [i for i, (_, fit) in enumerate(fits) if (fit.f1, fit.precision) == top]
    cut, fit = fits[tied[len(tied) // 2]]
    return fit.model_copy(update={"threshold": round(min(1.0, max(0.0, cut)), 4)})


def _confusion(scored: list[tuple[float, bool]], cut: float) -> Fit:
    tp = sum(1 for s, y in scored if s >= cut and y)
    fp = sum(1 for s, y in scored if s >= cut and not y)
    fn = sum(1 for s, y in scored if s < cut and y)
    tn = len(scored) - tp - fp - fn
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Fit(threshold=cut, f1=round(f1, 4), precision=round(precision, 4),
               recall=round(recall, 4), tp=tp, fp=fp, fn=fn, tn=tn, pairs=len(scored))


def calibrate(root: Path, pairs_file: Path, *, limits: Any, backend: str | None,
              policy: Any = None) -> CalibrationReport:
    """Score every labelled pair and fit both thresholds (nothing is written here). Inline
    tools pass the static checks of `policy` before any of them runs in the sandbox."""
    from dataclasses import replace

    from toolforge.retrieval import ToolIndex
    from toolforge.retrieval.index import read_tool_doc
    from toolforge.retrieval.views import tool_doc
    from toolforge.safety.checker import check_source
    from toolforge.tools.contract import load_tool_source
    from toolforge.tte.behaviour import Prober
    from toolforge.tte.dedup import Probe, similarity

    pairs = load_pairs(pairs_file)
    library = ToolIndex.for_library(root)
    report = CalibrationReport(pairs_file=str(pairs_file), retrieval_mode=library.mode)

    def probe(ref: ToolRef, line: int) -> Probe:
        if ref.code is not None:
            try:
                spec = load_tool_source(ref.code)
            except ToolforgeError as exc:
                raise PairsFileError(f"{pairs_file}:{line}: {exc.message}")
            findings = check_source(ref.code, filename="tool.py", policy=policy)
            if findings:
                first = findings[0]
                raise PairsFileError(
                    f"{pairs_file}:{line}: {spec.name} fails the static checks "
                    f"(line {first.line}: {first.message}); it is not run",
                    hint="inline tools are untrusted code like any other")
            return Probe(ref.name or spec.name, ref.code, spec, ref.made_for)
        assert ref.name is not None
        doc = read_tool_doc(root, ref.name)
        if doc is None:
            raise PairsFileError(f"{pairs_file}:{line}: no active tool {ref.name!r} in {root}")
        from toolforge.library.store import TOOL_FILE, TOOLS_DIR

        code = (root / TOOLS_DIR / ref.name / TOOL_FILE).read_text(encoding="utf-8")
        return Probe(ref.name, code, load_tool_source(code), doc.views.get("subgoal", ""))

    # Retrieval: one in-memory index over the library's tools and the inline ones, so the
    # scores see the same vocabulary statistics a real library would.
    retrieval = [p for p in pairs if p.kind == "retrieval"]
    if retrieval:
        docs = {name: d for name in library.names() if (d := library.doc(name)) is not None}
        names: dict[int, str] = {}
        inline: dict[str, str] = {}
        for pair in retrieval:
            assert pair.tool is not None
            if pair.tool.code is None:
                if pair.tool.name not in docs:
                    raise PairsFileError(f"{pairs_file}:{pair.line}: no active tool "
                                         f"{pair.tool.name!r} in {root}")
                names[pair.line] = str(pair.tool.name)
                continue
            if pair.tool.code in inline:  # the same tool in several pairs: index it once
                names[pair.line] = inline[pair.tool.code]
                continue
            p = probe(pair.tool, pair.line)
            key = p.name if p.name not in docs else f"{p.name}_line{pair.line}"
            inline[pair.tool.code] = key
            doc = tool_doc(key, 1, p.spec, None, pair.tool.tests)
            if p.made_for:
                doc = replace(doc, views={**doc.views, "subgoal": p.made_for})
            docs[key] = doc
            names[pair.line] = key
        index = ToolIndex.from_docs(docs.values())
        scored = []
        for pair in retrieval:
            hit = index.score(str(pair.query), names[pair.line])
            value = hit.score if hit else 0.0
            scored.append((value, pair.label))
            report.scored.append(ScoredPair(line=pair.line, kind="retrieval", label=pair.label,
                                            score=value,
                                            what=f"{pair.query!r} -> {names[pair.line]}"))
        report.retrieval = fit_threshold(scored)
    dedup = [p for p in pairs if p.kind == "dedup"]
    if dedup:
        prober = Prober(limits, backend)
        try:
            scored = []
            for pair in dedup:
                assert pair.a is not None and pair.b is not None
                a, b = probe(pair.a, pair.line), probe(pair.b, pair.line)
                sim = similarity(a, b, prober)
                scored.append((sim.score, pair.label))
                report.scored.append(ScoredPair(
                    line=pair.line, kind="dedup", label=pair.label, score=sim.score,
                    what=f"{a.name} ~ {b.name} (text {sim.text:.2f}, behaviour "
                         f"{sim.behaviour_text()})"))
            report.dedup = fit_threshold(scored)
        finally:
            prober.close()
    return report
