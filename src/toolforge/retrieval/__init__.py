"""Finding the right tools: hybrid BM25 + dense retrieval over several views of each tool.

`ToolIndex.for_library(root).search(query, k)` is the one search API (see index.py).
Importing this package is cheap: numpy, bm25s and wordllama load on the first search.
"""

from toolforge.retrieval.index import SearchHit, ToolIndex, text_similarity
from toolforge.retrieval.views import ToolDoc, tool_doc

__all__ = ["SearchHit", "ToolDoc", "ToolIndex", "text_similarity", "tool_doc"]
