"""Lexical ranking of tools for a task: BM25 over names and descriptions.

Weak models misuse large toolsets, so agents are offered only the few most relevant tools.
A few hundred tools rank in well under a millisecond in pure Python; dense retrieval can be
layered on later without changing callers.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

_WORD = re.compile(r"[a-z0-9]+")


def tokens(text: str) -> list[str]:
    # snake_case names count as words: parse_acme_log -> parse, acme, log
    return _WORD.findall(text.lower().replace("_", " "))


@dataclass(frozen=True)
class Document:
    key: str
    text: str


def rank(query: str, docs: Sequence[Document], k: int, *, k1: float = 1.5, b: float = 0.75
         ) -> list[tuple[str, float]]:
    """The top `k` documents by BM25 score (ties keep input order); zero scores excluded."""
    if not docs or k <= 0:
        return []
    doc_tokens = [tokens(d.text) for d in docs]
    avg_len = sum(len(t) for t in doc_tokens) / len(doc_tokens) or 1.0
    df: Counter[str] = Counter()
    for toks in doc_tokens:
        df.update(set(toks))
    n = len(docs)
    q = set(tokens(query))
    scored = []
    for i, toks in enumerate(doc_tokens):
        tf = Counter(toks)
        score = 0.0
        for term in q:
            f = tf.get(term, 0)
            if not f:
                continue
            idf = math.log(1 + (n - df[term] + 0.5) / (df[term] + 0.5))
            score += idf * f * (k1 + 1) / (f + k1 * (1 - b + b * len(toks) / avg_len))
        if score > 0:
            scored.append((docs[i].key, score, i))
    scored.sort(key=lambda item: (-item[1], item[2]))
    return [(key, score) for key, score, _ in scored[:k]]
