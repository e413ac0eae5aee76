"""Dedup: refuse a new tool that duplicates an existing one.

    sim(new, old) = 0.8 x behaviour + 0.2 x text

`behaviour` is 1 when the two tools behave the same on every shared sample input (drawn
from the schemas, run in the sandbox): equal values, or both refuse. One differing sample
makes it 0: look-alikes that agree on most inputs but not all (`abs(x)` vs `x`, `round` vs
`int`) are different tools, and reusing one for the other would give wrong answers. The
share of samples that agreed is reported beside it (`agreement`). `text` is how alike their
descriptions read (dense cosine, or word overlap without the dense model). When the tools
cannot be compared on inputs (different arity or types, or no sample where both return a
value) the behaviour term is 0 too, so text alone tops out at 0.2: wording never refuses a
tool by itself, and two tools that do the same thing under different names and docstrings
score at least 0.8. A new tool is refused when max sim >= tau_dup; the refusal names the
tool it duplicates, and the sub-goal reuses that tool. (A tau_dup above 0.8 asks for
similar descriptions as well as the same behaviour.)

Which existing tools are probed: the few closest by retrieval (text), and the tools whose
parameters have the same types in the same order (the only ones that can behave the same,
whatever their words: a clone described in other words may rank low by text), the closest
first, up to a bound, since running every tool of a large library in the sandbox for each
new one would not scale. Outputs are remembered per tool and sample set, so a tool probed
for one new tool is not run again for the next of the same shape.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from toolforge.retrieval.index import text_similarity
from toolforge.tools.contract import ToolSpec
from toolforge.tte.behaviour import Prober, agreement
from toolforge.tte.samples import shared_samples

BEHAVIOUR_WEIGHT = 0.8
PROBED = 8  # existing tools closest by text compared with each new one
SHAPE_PROBED = 32  # and at most this many more of the same shape


@dataclass(frozen=True)
class Probe:
    """A tool as dedup sees it."""

    name: str
    code: str
    spec: ToolSpec
    made_for: str = ""

    @property
    def text(self) -> str:
        return "\n".join(part for part in (self.spec.docstring or self.spec.summary,
                                           self.made_for) if part)


class Similarity(BaseModel):
    new: str
    existing: str
    text: float
    behaviour: float | None  # 1.0 identical on every sample, else 0.0; None: not comparable
    agreement: float | None = None  # the share of samples on which they behaved the same
    samples: int = 0
    identical: bool = False  # equal outputs on every shared sample
    score: float

    def behaviour_text(self) -> str:
        """How the two behaved, for people: "same on all 24 samples", "differ on 1 of 24
        samples", "not comparable"."""
        if self.agreement is None:
            return "not comparable on inputs"
        if self.identical:
            return f"same on all {self.samples} samples"
        differ = round((1 - self.agreement) * self.samples)
        return f"differ on {differ} of {self.samples} samples"


def similarity(new: Probe, old: Probe, prober: Prober) -> Similarity:
    text = text_similarity(new.text, old.text)
    samples = shared_samples(new.spec, old.spec)
    share: float | None = None
    identical = False
    if samples:
        agree = agreement(prober.outputs(new.code, new.spec.name, samples),
                          prober.outputs(old.code, old.spec.name, samples))
        if agree.evidence:
            share, identical = agree.share, agree.identical
    behaviour = None if share is None else float(identical)
    score = BEHAVIOUR_WEIGHT * (behaviour or 0.0) + (1 - BEHAVIOUR_WEIGHT) * text
    return Similarity(new=new.name, existing=old.name, text=round(text, 4),
                      behaviour=behaviour,
                      agreement=None if share is None else round(share, 4),
                      samples=len(samples), identical=identical, score=round(score, 4))


def find_duplicate(new: Probe, pool: list[Probe], tau_dup: float, prober: Prober
                   ) -> tuple[Similarity | None, list[Similarity]]:
    """The most similar tool of `pool` when its sim >= tau_dup (else None), and every
    comparison made."""
    compared = [similarity(new, old, prober) for old in pool if old.name != new.name]
    best = max(compared, key=lambda s: (s.score, s.existing), default=None)
    if best is not None and best.score >= tau_dup:
        return best, compared
    return None, compared
