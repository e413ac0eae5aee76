"""The daemon: the service layer behind a Unix socket (DESIGN.md §2).

Importing this package is free: the server side (FastAPI, uvicorn, watchdog) lives in
`app`, `server`, `routes`, `watcher` and is imported only by the daemon process; the CLI
uses `runtime` and `client` (both stdlib only).
"""
