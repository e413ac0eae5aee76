"""Which active tools fit a query: the runtime's one call into the retrieval module.

Every surface that hands an agent a few tools instead of all of them goes through
`find_tools`: the built-in agent (`ToolBox.select`), MCP's deferred loading (`find_tools`),
and the Python API. Swapping the ranking (e.g. for a hybrid index) means changing this one
function.
"""

from __future__ import annotations

from collections.abc import Mapping

from toolforge.retrieval.lexical import Document, rank
from toolforge.runtime.catalog import ActiveTool


def find_tools(tools: Mapping[str, ActiveTool], query: str, k: int) -> list[ActiveTool]:
    """The `k` tools most relevant to `query`, best first (fewer when fewer match)."""
    docs = [Document(t.name, f"{t.name} {t.meta.title or ''} {t.spec.summary} "
                             f"{t.spec.returns_description} "
                             + " ".join(f"{p.name} {p.description}" for p in t.spec.params))
            for t in tools.values()]
    return [tools[key] for key, _ in rank(query, docs, k)]
