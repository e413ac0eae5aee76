"""Tool Reuse Rate (the TTE paper's library metric).

    TRR@k = |{t in library : hits(t) >= k}| / |library|

over the active tools, with hits = successful calls in the usage records (all callers, or
one TTE run's session). For a library seeded from another domain (TTE-Adapt) the rate is
split: TRR_trans@k over the transferred tools, TRR_evol@k over the tools evolved here.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field

from toolforge.library.store import TOOLS_DIR, Library

K_VALUES = (1, 2, 5, 10)
TRANSFER = "transfer"  # provenance.source of tools seeded by --from-library
EVOLVED = "tte"  # provenance.source of tools made by the TTE loop (cells included)


def trr(hits: dict[str, int], tools: list[str], k: int) -> float | None:
    """None for an empty set of tools (a rate of nothing)."""
    if not tools:
        return None
    return sum(1 for t in tools if hits.get(t, 0) >= k) / len(tools)


class TrrTable(BaseModel):
    tools: int
    overall: dict[str, float | None] = Field(default_factory=dict)  # "1" -> TRR@1
    evolved: int = 0
    transferred: int = 0
    evol: dict[str, float | None] | None = None  # TRR_evol@k, for seeded libraries
    trans: dict[str, float | None] | None = None  # TRR_trans@k


def active_sources(root: Path) -> dict[str, str]:
    """Active tool -> its provenance source (tte, transfer, evolve, manual, ...)."""
    lib = Library.open(root)
    try:
        return {e.name: e.meta.provenance.source for e in lib.entries()
                if e.location == TOOLS_DIR and e.meta is not None and e.meta.status == "active"}
    finally:
        lib.close()


def trr_table(sources: dict[str, str], hits: dict[str, int],
              k_values: tuple[int, ...] = K_VALUES) -> TrrTable:
    tools = sorted(sources)
    evolved = [t for t in tools if sources[t] == EVOLVED]
    transferred = [t for t in tools if sources[t] == TRANSFER]
    table = TrrTable(tools=len(tools), evolved=len(evolved), transferred=len(transferred),
                     overall={str(k): trr(hits, tools, k) for k in k_values})
    if transferred:
        table.evol = {str(k): trr(hits, evolved, k) for k in k_values}
        table.trans = {str(k): trr(hits, transferred, k) for k in k_values}
    return table
