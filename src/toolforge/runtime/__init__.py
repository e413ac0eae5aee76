"""The runtime: one way to call a library's tools, whoever calls (DESIGN.md §9).

    from toolforge.runtime import tools

    for fn in tools("my-library"):          # plain Python functions, framework-ready
        print(fn.__name__, fn.__signature__)

Modules:
- `catalog`: the active tools, read from the promoted tags (never the working tree);
- `arguments`: arguments checked against the tool's JSON schema before anything runs;
- `processes`: warm sandboxed hosts per tool version;
- `runtime`: `Runtime.call`, error kinds, usage records;
- `functions`: tools as Python functions with real signatures;
- `search`: the one call into retrieval (which tools fit a query);
- `results`: `ToolCallResult` and the error kinds.
"""

from __future__ import annotations

import atexit
import os
import threading
from typing import TYPE_CHECKING

from toolforge.runtime.results import CallError, ErrorKind, ToolCallResult

if TYPE_CHECKING:
    from toolforge.runtime.functions import ToolFunction
    from toolforge.runtime.runtime import Runtime


def open_runtime(library: str | os.PathLike[str] | None = None, *, caller: str = "python",
                 warm: bool = True) -> Runtime:
    """A runtime for `library` (default: TOOLFORGE_LIBRARY, the current library, ./library)
    with the sandbox limits and backend of the library's settings."""
    from toolforge.library.store import resolve_library_path
    from toolforge.runtime.runtime import Runtime
    from toolforge.service.library_service import LibraryService

    root = resolve_library_path(library)
    svc = LibraryService(root)
    try:
        options = svc.validation_options()
    finally:
        svc.close()
    return Runtime(root, limits=options.limits, backend=options.backend,
                   access=options.access, caller=caller, warm=warm)


def tools(library: str | os.PathLike[str] | Runtime | None = None, *,
          session: str | None = None) -> list[ToolFunction]:
    """The active tools of `library` as Python functions, no agent needed. Each has a real
    signature, annotations, docstring and JSON schema, checks its arguments, runs the
    promoted code in the sandbox, and is recorded as a "python" call. Given a path, the
    functions share one runtime per library for the whole process (closed at exit)."""
    from toolforge.runtime.runtime import Runtime

    runtime = library if isinstance(library, Runtime) else _shared(library)
    return runtime.functions(session=session)


_runtimes: dict[str, Runtime] = {}
_runtimes_lock = threading.Lock()


def _shared(library: str | os.PathLike[str] | None) -> Runtime:
    """One runtime per library for `tools()`: asking again reuses its warm sandboxes
    instead of starting another pool."""
    from toolforge.library.store import resolve_library_path

    key = str(resolve_library_path(library))
    with _runtimes_lock:
        runtime = _runtimes.get(key)
        if runtime is None or runtime.closed:
            runtime = _runtimes[key] = open_runtime(key)
        return runtime


@atexit.register
def _close_shared() -> None:
    with _runtimes_lock:
        runtimes = list(_runtimes.values())
        _runtimes.clear()
    for runtime in runtimes:
        runtime.close()


__all__ = ["CallError", "ErrorKind", "ToolCallResult", "open_runtime", "tools"]
