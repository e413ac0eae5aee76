"""toolforge: let LLM agents create, test, version, review and promote their own tools."""

__version__ = "0.1.0"
