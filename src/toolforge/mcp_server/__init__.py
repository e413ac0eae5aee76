"""`toolforge mcp`: a Model Context Protocol server over a library, on the official `mcp` SDK.

- `tools`: the library as MCP tools (list, call, the discovery meta-tools);
- `serve`: the server, its transports (stdio, streamable HTTP) and list_changed.

Imported only by `toolforge mcp` and the tests: the SDK brings Starlette and uvicorn.
"""
