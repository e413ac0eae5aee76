"""`toolforge mcp`: the library served over MCP, on the official SDK's low-level server.

- stdio (default; what Claude Desktop, Cursor and VS Code start) or streamable HTTP on
  127.0.0.1:PORT or a Unix socket (0600), path /mcp.
- tools/list and tools/call from `tools.LibraryTools`; blocking runtime work runs on
  worker threads, so a slow tool never stalls the protocol loop.
- `notifications/tools/list_changed` whenever the set of active tools changes, whoever
  changed it (this process, a CLI in another terminal, the daemon, a `git pull`): the
  library's HEAD is polled (two small file reads) and the catalog compared. Clients of the
  2025 handshake era get the notification on their connection; clients of the 2026 era
  get it on their `subscriptions/listen` stream.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import signal
import socket as socketlib
import uuid
import weakref
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel.server import NotificationOptions, Server
from mcp.server.subscriptions import InMemorySubscriptionBus, ListenHandler, ToolsListChanged

from toolforge import __version__
from toolforge.mcp_server.tools import META_PREFIX, LibraryTools
from toolforge.runtime.runtime import Runtime

log = logging.getLogger("toolforge.mcp")

MCP_PATH = "/mcp"
POLL_S = 0.5
INSTRUCTIONS = (
    "Tools from a toolforge library: small validated functions, JSON in and JSON out. "
    "Each call runs the tool's promoted code in a sandbox (no network, no files outside "
    "its own temporary directory). Errors come back as tool errors with their reason."
)
DISCOVER_INSTRUCTIONS = (
    "This library is served in discovery mode: call find_tools with a description of what "
    "you need to get the definitions of the most relevant tools, then call_tool with one "
    "tool's name and arguments."
)

# tools/call arguments that are not an object (a list, a string...), kept aside for the
# handler: the SDK would refuse the whole request with a bare "Invalid request parameters";
# the runtime answers with a tool error that says what is wrong, and records the call.
_NOT_AN_OBJECT: ContextVar[tuple[Any] | None] = ContextVar("toolforge_mcp_not_an_object",
                                                             default=None)


@dataclass
class ServeOptions:
    root: Path
    transport: str = "stdio"  # stdio | http
    host: str = "127.0.0.1"
    port: int = 8848
    socket: Path | None = None
    discover: bool = False
    session: str | None = None  # recorded with every call (default: one per connection)
    report_runs: bool = False  # offer `report_run`: MCP sessions become trajectories
    poll_s: float = POLL_S


class _Server(Server[Any]):
    """The SDK's server, whose capabilities say whether tools/list_changed is sent on every
    transport: the streamable HTTP manager asks for them without options, which would tell
    HTTP clients that it never is."""

    def __init__(self, *args: Any, tools_changed: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tools_changed = tools_changed

    def create_initialization_options(self, notification_options: NotificationOptions | None
                                      = None, *args: Any, **kwargs: Any) -> Any:
        return super().create_initialization_options(
            notification_options or NotificationOptions(tools_changed=self.tools_changed),
            *args, **kwargs)


class LibraryServer:
    """One MCP server over one library: the SDK's low-level Server plus change watching."""

    def __init__(self, runtime: Runtime, *, discover: bool = False,
                 session: str | None = None, report_runs: bool = False) -> None:
        self.runtime = runtime
        self.tools = LibraryTools(runtime, discover=discover, report_runs=report_runs)
        self.session = session
        self.bus = InMemorySubscriptionBus()
        self.server: Server[Any] = _Server(
            "toolforge", tools_changed=not self.tools.discover, version=__version__,
            title="toolforge tool library",
            instructions=INSTRUCTIONS + (" " + DISCOVER_INSTRUCTIONS if discover else ""),
            on_list_tools=self._list_tools, on_call_tool=self._call_tool,
            on_subscriptions_listen=ListenHandler(self.bus),
        )
        self.server.middleware.append(self._track_connections)
        self.server.middleware.append(_arguments_not_an_object)
        # Connections of the handshake era, to notify; weak, so a closed one just goes.
        self._connections: weakref.WeakSet[Any] = weakref.WeakSet()
        self._sessions: list[Any] = []  # fallback when a connection cannot be reached

    def initialization_options(self) -> Any:
        return self.server.create_initialization_options()

    # --- handlers ------------------------------------------------------------------------------

    async def _list_tools(self, ctx: ServerRequestContext[Any],
                          params: types.PaginatedRequestParams | None) -> types.ListToolsResult:
        tools = await anyio.to_thread.run_sync(self.tools.list_tools)
        return types.ListToolsResult(tools=tools)

    async def _call_tool(self, ctx: ServerRequestContext[Any],
                         params: types.CallToolRequestParams) -> types.CallToolResult:
        session = self._session_id(ctx, params)
        kept = _NOT_AN_OBJECT.get()
        arguments = kept[0] if kept is not None else params.arguments
        try:
            return await anyio.to_thread.run_sync(
                partial(self.tools.call_tool, params.name, arguments, session))
        except Exception as exc:  # a bug of ours: still an answer, never a dropped link
            log.exception("tools/call %s failed", params.name)
            return types.CallToolResult(
                content=[types.TextContent(type="text", text=f"internal error: "
                                                             f"{type(exc).__name__}: {exc}")],
                is_error=True)

    def _session_id(self, ctx: ServerRequestContext[Any],
                    params: types.CallToolRequestParams) -> str:
        """The client's own id (`_meta["toolforge/session"]`), else the server's --session,
        else the transport's session id, else one id per connection."""
        meta: Any = params.meta or {}  # a TypedDict: the client's _meta as sent
        given = meta.get(f"{META_PREFIX}session") if isinstance(meta, dict) else None
        if isinstance(given, str) and given:
            return given[:200]
        if self.session:
            return self.session
        connection = _connection_of(ctx)
        if connection is None:
            return "mcp"
        if connection.session_id:
            return str(connection.session_id)
        state = connection.state
        if "toolforge_session" not in state:
            state["toolforge_session"] = uuid.uuid4().hex[:16]
        return str(state["toolforge_session"])

    async def _track_connections(self, ctx: ServerRequestContext[Any],
                                 call_next: Callable[[Any], Any]) -> Any:
        result = await call_next(ctx)
        if ctx.method == "notifications/initialized":
            connection = _connection_of(ctx)
            if connection is not None:
                self._connections.add(connection)
            else:
                self._sessions.append(ctx.session)
        return result

    # --- list_changed ----------------------------------------------------------------------------

    async def watch(self, poll_s: float = POLL_S) -> None:
        """Send list_changed whenever the set of active tools changes."""
        if self.tools.discover:
            return  # the two meta-tools never change
        last = await anyio.to_thread.run_sync(self._fingerprint)
        while True:
            await anyio.sleep(poll_s)
            now = await anyio.to_thread.run_sync(self._fingerprint)
            if now is not None and now != last:
                last = now
                log.info("the active tools changed: notifying clients")
                await self.notify_tools_changed()

    def _fingerprint(self) -> Any:
        try:
            return self.tools.fingerprint()
        except Exception:  # a library mid-rewrite (e.g. a clone being replaced): try later
            log.exception("reading the library failed")
            return None

    async def notify_tools_changed(self) -> None:
        await self.bus.publish(ToolsListChanged())
        for connection in list(self._connections):
            with contextlib.suppress(Exception):  # never raises by contract; be sure
                await connection.send_tool_list_changed()
        alive = []
        for session in self._sessions:
            try:
                await session.send_tool_list_changed()
                alive.append(session)
            except Exception:
                pass
        self._sessions = alive


async def _arguments_not_an_object(ctx: ServerRequestContext[Any],
                                   call_next: Callable[[Any], Any]) -> Any:
    """tools/call whose `arguments` is not an object: the request goes on without them and
    the handler gets them from `_NOT_AN_OBJECT` (same task), so the answer is a tool error
    (`bad_arguments`) rather than a JSON-RPC error with no reason."""
    params = ctx.params
    if ctx.method != "tools/call" or not isinstance(params, Mapping):
        return await call_next(ctx)
    arguments = params.get("arguments")
    if arguments is None or isinstance(arguments, Mapping):
        return await call_next(ctx)
    token = _NOT_AN_OBJECT.set((arguments,))
    try:
        rest = {key: value for key, value in params.items() if key != "arguments"}
        return await call_next(dataclasses.replace(ctx, params=rest))
    finally:
        _NOT_AN_OBJECT.reset(token)


def _connection_of(ctx: ServerRequestContext[Any]) -> Any:
    """The connection behind a request (the SDK keeps it on the session object)."""
    return getattr(ctx.session, "_connection", None)


# --- transports --------------------------------------------------------------------------------


def serve(options: ServeOptions, say: Callable[[str], None] = lambda _text: None) -> None:
    """Serve until the client goes away (stdio) or the process is interrupted (http)."""
    from toolforge.runtime import open_runtime

    logging.basicConfig(level=os.environ.get("TOOLFORGE_LOG_LEVEL", "WARNING").upper(),
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    runtime = open_runtime(options.root, caller="mcp")
    try:
        runtime.catalog()  # a broken library fails here, with its error, not mid-protocol
        server = LibraryServer(runtime, discover=options.discover, session=options.session,
                               report_runs=options.report_runs)
        if options.transport == "stdio":
            anyio.run(_serve_stdio, server, options)
        else:
            anyio.run(_serve_http, server, options, say)
    finally:
        runtime.close()


async def _serve_stdio(server: LibraryServer, options: ServeOptions) -> None:
    from mcp.server.stdio import stdio_server

    async with stdio_server() as (read, write), anyio.create_task_group() as tg:
        tg.start_soon(server.watch, options.poll_s)
        tg.start_soon(_stop_on_signal, tg.cancel_scope.cancel)
        await server.server.run(read, write, server.initialization_options())
        tg.cancel_scope.cancel()


async def _stop_on_signal(stop: Callable[[], None]) -> None:
    """SIGTERM/SIGINT end the server the normal way, so its sandboxes are killed and its
    usage records written before the process exits."""
    with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        async for _ in signals:
            stop()
            return


async def _serve_http(server: LibraryServer, options: ServeOptions,
                      say: Callable[[str], None]) -> None:
    import uvicorn
    from mcp.server.transport_security import TransportSecuritySettings

    local = ["127.0.0.1", "localhost", "[::1]"]
    security = TransportSecuritySettings(
        # Browsers on this machine must not reach the server by rebinding a DNS name.
        enable_dns_rebinding_protection=True,
        allowed_hosts=[*local, *(f"{h}:*" for h in local)],
        allowed_origins=[f"http://{h}{port}" for h in local for port in ("", ":*")],
    )
    app = server.server.streamable_http_app(streamable_http_path=MCP_PATH,
                                            transport_security=security, host=options.host)
    sock = _listen(options)
    if options.socket is not None:
        where = f"unix socket {options.socket} (path {MCP_PATH})"
    else:
        host, port = sock.getsockname()[:2]
        where = f"http://{host}:{port}{MCP_PATH}"
    class Uvicorn(uvicorn.Server):
        """uvicorn re-raises SIGTERM after it stops, which would kill the process before
        our clean-up (sandboxes, usage records); `_stop_on_signal` handles signals."""

        @contextlib.contextmanager
        def capture_signals(self) -> Any:
            yield

    config = uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False)
    uv = Uvicorn(config)
    say(f"toolforge mcp: serving {options.root} at {where}")
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(server.watch, options.poll_s)
            tg.start_soon(_stop_on_signal, lambda: setattr(uv, "should_exit", True))
            await uv.serve(sockets=[sock])
            tg.cancel_scope.cancel()
    finally:
        sock.close()
        if options.socket is not None:
            with contextlib.suppress(OSError):
                options.socket.unlink()


def _listen(options: ServeOptions) -> socketlib.socket:
    """Bind the listening socket ourselves: a Unix socket gets mode 0600 before anyone can
    connect (uvicorn would make it 0666)."""
    from toolforge.errors import UsageError

    if options.socket is not None:
        path = options.socket.expanduser().resolve()
        if path.exists() or path.is_symlink():
            if not path.is_socket():
                raise UsageError(f"{path} exists and is not a socket",
                                 hint="pick another --socket path")
            path.unlink()  # a stale socket of an earlier run
        sock = socketlib.socket(socketlib.AF_UNIX, socketlib.SOCK_STREAM)
        old = os.umask(0o177)
        try:
            sock.bind(str(path))
        finally:
            os.umask(old)
        options.socket = path
    else:
        family = socketlib.AF_INET6 if ":" in options.host else socketlib.AF_INET
        sock = socketlib.socket(family, socketlib.SOCK_STREAM)
        sock.setsockopt(socketlib.SOL_SOCKET, socketlib.SO_REUSEADDR, 1)
        try:
            sock.bind((options.host, options.port))
        except OSError as exc:
            sock.close()
            raise UsageError(f"cannot listen on {options.host}:{options.port}: {exc.strerror}",
                             hint="pick another --port (0 chooses a free one)")
    sock.listen(128)
    sock.setblocking(False)
    return sock
