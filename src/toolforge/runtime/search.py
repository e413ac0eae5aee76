"""Which active tools fit a query: the runtime's one call into the retrieval module.

Every surface that hands an agent a few tools instead of all of them goes through
`find_tools`: the built-in agent (`ToolBox.select`), MCP's deferred loading (`find_tools`),
and the Python API. The ranking is the library's hybrid retrieval index (BM25 + dense,
fused over several views of each tool: see toolforge.retrieval), the same one TTE uses.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from toolforge.runtime.catalog import ActiveTool


def find_tools(root: Path, tools: Mapping[str, ActiveTool], query: str, k: int
               ) -> list[ActiveTool]:
    """The `k` tools of `tools` most relevant to `query`, best first (fewer when fewer
    match at all)."""
    if k <= 0 or not tools:
        return []
    from toolforge.retrieval import ToolIndex

    hits = ToolIndex.for_library(root).search(query, k, allowed=tools)
    return [tools[h.tool] for h in hits if h.tool in tools]
