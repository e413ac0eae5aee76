"""The daemon process: `python -m toolforge.daemon.server --library PATH`.

Start-up order matters for "one daemon per library" and crash recovery:
1. take the daemon lock (held until the process dies; a second starter gives up);
2. write the status file, so a starting daemon can already be found (and killed);
3. finish or undo a library mutation a crashed writer left half done;
4. replace a stale socket, bind it 0600 ourselves (uvicorn would chmod it 0666), serve.
On SIGTERM/SIGINT or POST /v1/shutdown: end event streams, cancel jobs, wait for them,
close, remove the socket and status file, exit 0.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import logging.handlers
import os
import socket
import sys
import threading
import time
from pathlib import Path
from types import FrameType
from typing import Any

import uvicorn

from toolforge import __version__
from toolforge.daemon.app import create_app
from toolforge.daemon.context import DaemonContext, build_context
from toolforge.daemon.events import now_iso
from toolforge.daemon.runtime import (
    DaemonPaths,
    daemon_paths,
    ensure_runtime_dir,
    pid_alive,
    read_status,
    remove_owned,
    try_lock,
    write_status,
)
from toolforge.errors import ToolforgeError
from toolforge.library.store import Library

log = logging.getLogger("toolforge.daemon")

LOCK_RETRY_S = 2.0  # outlasts a client's momentary probe of the lock (runtime.lock_held)
LOG_MAX_BYTES = 1_000_000
LOG_BACKUPS = 3
LISTEN_BACKLOG = 4096  # connections waiting to be accepted (the kernel caps it: somaxconn)
EXIT_ALREADY_RUNNING = 0  # not an error: the caller wanted a daemon, and there is one


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, ctx: DaemonContext) -> None:
        super().__init__(config)
        self.ctx = ctx
        self._loop: asyncio.AbstractEventLoop | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        self._loop = asyncio.get_running_loop()
        await super().startup(sockets=sockets)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        # Unlike uvicorn's, this does not re-raise the signal after shutdown: we still have
        # files to clean up, and exit 0 once they are.
        log.info("signal %d: stopping", sig)
        if self.should_exit and sig == 2:
            self.force_exit = True
        self.should_exit = True
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self.ctx.begin_stop)


def acquire_lock(paths: DaemonPaths, retry_s: float = LOCK_RETRY_S) -> int | None:
    """The daemon lock, or None when another daemon holds it. A holder that has written its
    status file is a daemon: give up at once. One that has not may be a client probing for
    a moment: retry for a while."""
    deadline = time.monotonic() + retry_s
    while True:
        fd = try_lock(paths.lock)
        if fd is not None or time.monotonic() >= deadline:
            return fd
        holder = (read_status(paths) or {}).get("pid")
        if isinstance(holder, int) and holder != os.getpid() and pid_alive(holder):
            return None
        time.sleep(0.05)


def setup_logging(path: Path, *, foreground: bool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handler: logging.Handler = logging.handlers.RotatingFileHandler(
        path, maxBytes=LOG_MAX_BYTES, backupCount=LOG_BACKUPS, encoding="utf-8")
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(process)d] %(message)s")
    handler.setFormatter(fmt)
    root = logging.getLogger()
    root.addHandler(handler)
    if foreground:
        console = logging.StreamHandler()
        console.setFormatter(fmt)
        root.addHandler(console)
    root.setLevel(logging.INFO)
    logging.captureWarnings(True)

    def thread_hook(args: threading.ExceptHookArgs) -> None:
        log.error("uncaught exception in thread %s", args.thread.name if args.thread else "?",
                  exc_info=(args.exc_type, args.exc_value, args.exc_traceback))  # type: ignore[arg-type]

    threading.excepthook = thread_hook


def bind_socket(path: Path) -> socket.socket:
    path.unlink(missing_ok=True)  # we hold the daemon lock: any socket here is stale
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)  # born 0600: no window where others could connect
    try:
        sock.bind(str(path))
    finally:
        os.umask(old)
    os.chmod(path, 0o600)
    sock.listen(LISTEN_BACKLOG)
    return sock


def serve(root: Path, paths: DaemonPaths, *, foreground: bool = False) -> int:
    setup_logging(paths.log, foreground=foreground)
    started_at = now_iso()
    status: dict[str, Any] = {"pid": os.getpid(), "socket": str(paths.socket),
                              "version": __version__, "library": str(root),
                              "started_at": started_at}
    write_status(paths, status)
    log.info("starting toolforge %s daemon for %s (pid %d)", __version__, root, os.getpid())
    try:
        lib = Library.open(root)
        try:
            done = lib.recover()
        finally:
            lib.close()
        if done:
            log.warning("recovered an interrupted library change: %s", done)
        ctx = build_context(root, socket=str(paths.socket), log_path=str(paths.log))
    except ToolforgeError as exc:
        log.error("cannot serve %s: %s", root, exc.message)
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    ctx.started_at = started_at
    sock = bind_socket(paths.socket)
    config = uvicorn.Config(
        create_app(ctx), lifespan="on", log_config=None, access_log=False, ws="none",
        timeout_graceful_shutdown=5, server_header=False, date_header=False,
    )
    server = _Server(config, ctx)
    ctx.request_exit = lambda: setattr(server, "should_exit", True)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
    log.info("stopped")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m toolforge.daemon.server",
                                     description="Serve a toolforge library on a Unix socket.")
    parser.add_argument("--library", required=True, help="the library's path")
    parser.add_argument("--foreground", action="store_true", help="also log to stderr")
    args = parser.parse_args(argv)
    root = Path(args.library).expanduser().resolve()
    try:
        paths = daemon_paths(root)
        ensure_runtime_dir(paths.runtime_dir)
    except ToolforgeError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    fd = acquire_lock(paths)
    if fd is None:
        print(f"a daemon already serves {root}", file=sys.stderr)
        return EXIT_ALREADY_RUNNING
    try:
        return serve(root, paths, foreground=args.foreground)
    finally:
        remove_owned(paths, os.getpid())
        os.close(fd)


if __name__ == "__main__":
    sys.exit(main())
