"""toolforge: let LLM agents create, test, version, review and promote their own tools.

`from toolforge import Forge` loads the Python API on first use, so importing the package
(as the CLI does on every command) stays cheap.
"""

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from toolforge.api import Forge, RunResult


def __getattr__(name: str) -> Any:
    if name in ("Forge", "RunResult"):
        from toolforge import api

        return getattr(api, name)
    raise AttributeError(f"module 'toolforge' has no attribute {name!r}")


__all__ = ["Forge", "RunResult", "__version__"]
