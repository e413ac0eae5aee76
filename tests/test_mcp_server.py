"""`toolforge mcp` in a subprocess, driven by the official SDK's own clients: stdio and
streamable HTTP (over a Unix socket). Lists, calls, every kind of failure answered as a
tool error while the server stays up, list_changed after another process promotes, and
deferred loading (--discover)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
import pytest
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from conftest import PYTHON, run_cli
from runtime_library import HOG, SPIN, copy_library, template_fixture
from toolforge.metrics.usage import UsageStore

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return template_fixture(tmp_path_factory)


@pytest.fixture
def lib(template: Path, tmp_path: Path) -> Path:
    return copy_library(template, tmp_path)


class Notices:
    """Server notifications the client received."""

    def __init__(self) -> None:
        self.items: list[Any] = []
        self.changed = anyio.Event()
        self.init: types.InitializeResult | None = None  # what the server said it can do

    async def __call__(self, message: Any) -> None:
        self.items.append(message)
        if isinstance(message, types.ToolListChangedNotification):
            self.changed.set()


@asynccontextmanager
async def stdio_session(lib: Path, *extra: str) -> AsyncIterator[tuple[ClientSession, Notices]]:
    params = StdioServerParameters(command=PYTHON, args=["-m", "toolforge", "mcp", "-L",
                                                          str(lib), *extra],
                                   env=dict(os.environ))
    notices = Notices()
    async with stdio_client(params) as (read, write), \
            ClientSession(read, write, message_handler=notices) as session:
        with anyio.fail_after(60):
            notices.init = await session.initialize()
        yield session, notices


def text_of(result: types.CallToolResult) -> str:
    return "".join(c.text for c in result.content if isinstance(c, types.TextContent))


async def test_stdio_list_call_and_every_failure(lib: Path) -> None:
    export = run_cli("export", "--format", "mcp", "-L", lib).json
    async with stdio_session(lib) as (session, notices):
        assert notices.init is not None and notices.init.capabilities.tools is not None
        assert notices.init.capabilities.tools.list_changed is True
        listed = await session.list_tools()
        tools = {t.name: t.model_dump(by_alias=True, exclude_none=True) for t in listed.tools}
        assert sorted(tools) == ["add", "trap", "word_stats"]  # not the candidate
        # The same schemas as `export --format mcp`, plus title/annotations/outputSchema.
        assert list(tools.values()) == export["tools"]
        stats = tools["word_stats"]
        assert stats["title"] == "Word statistics"
        assert stats["annotations"] == {"readOnlyHint": True, "idempotentHint": True}
        assert stats["outputSchema"]["type"] == "object"
        assert tools["add"]["outputSchema"]["properties"]["result"] == {"type": "integer"}
        assert "annotations" not in tools["add"]  # declares nothing: no hints invented

        ok = await session.call_tool("add", {"a": 40})
        assert not ok.is_error and ok.structured_content == {"result": 42}
        assert text_of(ok) == "42"
        counted = await session.call_tool("word_stats", {"text": "two words"})
        assert counted.structured_content == {"words": 2, "chars": 9}

        bad = await session.call_tool("add", {"a": "forty"})
        assert bad.is_error and "bad_arguments" in text_of(bad) and "'a'" in text_of(bad)
        extra = await session.call_tool("add", {"a": 1, "c": 2})
        assert extra.is_error and "unexpected argument 'c'" in text_of(extra)
        unknown = await session.call_tool("ad", {"a": 1})
        assert unknown.is_error and "did you mean add" in text_of(unknown)

        with anyio.fail_after(90):
            looping = await session.call_tool("trap", {"word": SPIN})
        assert looping.is_error and text_of(looping).startswith("timeout:"), text_of(looping)
        with anyio.fail_after(90):
            hog = await session.call_tool("trap", {"word": HOG})
        assert hog.is_error and text_of(hog).startswith("memory:"), text_of(hog)

        # The server is still up, and the tool works again in a fresh sandbox.
        again = await session.call_tool("trap", {"word": "abc"})
        assert not again.is_error and again.structured_content == {"result": "cba"}

    events = UsageStore.for_library(lib).events()
    assert {e.caller for e in events} == {"mcp"}
    outcomes = sorted(e.outcome for e in events)
    assert outcomes == sorted(["ok", "ok", "bad_arguments", "bad_arguments", "unknown_tool",
                               "timeout", "memory", "ok"])
    assert all(e.commit for e in events if e.tool != "ad")
    assert len({e.session for e in events}) == 1  # one stdio connection, one session


async def test_list_changed_after_another_process_promotes(lib: Path) -> None:
    async with stdio_session(lib) as (session, notices):
        before = {t.name for t in (await session.list_tools()).tools}
        assert "shout" not in before
        promote = subprocess.run([PYTHON, "-m", "toolforge", "promote", "shout", "-L", str(lib),
                                  "--no-daemon"], capture_output=True, text=True, timeout=120)
        assert promote.returncode == 0, promote.stderr
        with anyio.fail_after(60):
            await notices.changed.wait()
        after = {t.name for t in (await session.list_tools()).tools}
        assert after == before | {"shout"}
        shouted = await session.call_tool("shout", {"text": "hi"})
        assert shouted.structured_content == {"result": "HI"}

        notices.changed = anyio.Event()
        retire = run_cli("retire", "add", "-L", lib)
        assert retire.exit_code == 0, retire.stderr
        with anyio.fail_after(60):
            await notices.changed.wait()
        assert "add" not in {t.name for t in (await session.list_tools()).tools}
        gone = await session.call_tool("add", {"a": 1})
        assert gone.is_error and "retired" in text_of(gone)


def test_arguments_that_are_not_an_object_get_a_tool_error(lib: Path) -> None:
    """The protocol itself (JSON-RPC lines on stdio, as any client in any language sends
    them): `arguments` that are not an object are a bad_arguments tool error saying why,
    like any other bad call, not a JSON-RPC error with no reason."""
    server = subprocess.Popen([PYTHON, "-m", "toolforge", "mcp", "-L", str(lib)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True)
    assert server.stdin is not None and server.stdout is not None

    def ask(message: dict[str, Any]) -> dict[str, Any]:
        assert server.stdin is not None and server.stdout is not None
        server.stdin.write(json.dumps(message) + "\n")
        server.stdin.flush()
        answer: dict[str, Any] = json.loads(server.stdout.readline())
        assert answer["id"] == message["id"]
        return answer

    try:
        ask({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "raw", "version": "0"}}})
        server.stdin.write(json.dumps({"jsonrpc": "2.0",
                                       "method": "notifications/initialized"}) + "\n")
        for number, arguments in enumerate([[40], "a=1", 7, True]):
            answer = ask({"jsonrpc": "2.0", "id": number + 1, "method": "tools/call",
                          "params": {"name": "add", "arguments": arguments}})
            result = answer["result"]
            assert result["isError"] is True, answer
            text = result["content"][0]["text"]
            assert text.startswith("bad_arguments: arguments must be a JSON object"), text
        ok = ask({"jsonrpc": "2.0", "id": 9, "method": "tools/call",
                  "params": {"name": "add", "arguments": {"a": 40}}})
        assert ok["result"]["structuredContent"] == {"result": 42}
    finally:
        server.stdin.close()
        server.wait(60)
    outcomes = sorted(e.outcome for e in UsageStore.for_library(lib).events())
    assert outcomes == ["bad_arguments"] * 4 + ["ok"]


WORD_STATS_V2 = '''def word_stats(text: str) -> dict[str, int]:
    """Count the words and characters of a text (second version).

    Args:
        text: any text.

    Returns:
        words and chars counts.
    """
    return {"words": len(text.split()), "chars": len(text)}
'''


async def test_a_call_served_by_the_version_on_trial_matches_the_listing(
        lib: Path, tmp_path: Path) -> None:
    """While a new version is on A/B trial, the calls it serves still carry the
    structuredContent of the listed outputSchema: the SDK client checks it against that."""
    source = tmp_path / "v2"
    source.mkdir()
    (source / "tool.py").write_text(WORD_STATS_V2)
    (source / "test_tool.py").write_text((lib / "tools/word_stats/test_tool.py").read_text())
    assert run_cli("add", source, "--name", "word_stats", "-L", lib).exit_code == 0
    started = run_cli("trials", "start", "word_stats", "--share", "0.99", "-L", lib)
    assert started.exit_code == 0, started.stderr
    async with stdio_session(lib) as (session, _):
        listed = {t.name: t for t in (await session.list_tools()).tools}
        assert listed["word_stats"].output_schema is not None
        assert listed["word_stats"].output_schema["type"] == "object"
        versions = set()
        for attempt in range(8):  # each session draws its arm: 0.99 for the new version
            result = await session.call_tool("word_stats", {"text": "a b"},
                                             meta={"toolforge/session": f"s{attempt}"})
            assert not result.is_error and result.structured_content == {"words": 2,
                                                                          "chars": 3}
            assert result.meta is not None
            versions.add(result.meta["toolforge/version"])
        assert 2 in versions


async def test_discover_serves_find_and_call(lib: Path) -> None:
    async with stdio_session(lib, "--discover") as (session, notices):
        assert notices.init is not None and notices.init.capabilities.tools is not None
        assert notices.init.capabilities.tools.list_changed is False  # two fixed tools
        listed = (await session.list_tools()).tools
        assert [t.name for t in listed] == ["find_tools", "call_tool"]
        found = await session.call_tool("find_tools", {"query": "count words in a text",
                                                       "k": 1})
        assert not found.is_error
        schemas = found.structured_content["tools"]  # type: ignore[index]
        assert [s["name"] for s in schemas] == ["word_stats"]
        assert schemas[0]["inputSchema"]["required"] == ["text"]
        assert json.loads(text_of(found)) == found.structured_content

        called = await session.call_tool("call_tool", {"name": "word_stats",
                                                       "arguments": {"text": "a b c"}})
        assert not called.is_error
        assert called.structured_content == {"words": 3, "chars": 5}
        wrong = await session.call_tool("call_tool", {"name": "word_stats",
                                                      "arguments": {"txt": "a"}})
        assert wrong.is_error and "bad_arguments" in text_of(wrong)
        direct = await session.call_tool("add", {"a": 1})  # only reachable via call_tool
        assert direct.is_error and "call_tool" in text_of(direct)
        missing = await session.call_tool("find_tools", {})
        assert missing.is_error and "query" in text_of(missing)


async def test_streamable_http_on_a_unix_socket(lib: Path, tmp_path: Path) -> None:
    import httpx2
    from mcp.client.streamable_http import streamable_http_client

    sock = tmp_path / "mcp.sock"
    server = subprocess.Popen([PYTHON, "-m", "toolforge", "mcp", "--transport", "http",
                               "--socket", str(sock), "-L", str(lib)],
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while not sock.exists():
            assert server.poll() is None, server.stderr.read().decode() if server.stderr else ""
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.05)
        assert sock.stat().st_mode & 0o777 == 0o600
        notices = Notices()
        transport = httpx2.AsyncHTTPTransport(uds=str(sock))
        async with httpx2.AsyncClient(transport=transport, timeout=httpx2.Timeout(
                    30, read=300)) as http, \
                streamable_http_client("http://localhost/mcp", http_client=http) as (r, w), \
                ClientSession(r, w, message_handler=notices) as session:
            with anyio.fail_after(60):
                init = await session.initialize()
            # The HTTP transport says list_changed is sent, as stdio does (and it is).
            assert init.capabilities.tools is not None
            assert init.capabilities.tools.list_changed is True
            names = {t.name for t in (await session.list_tools()).tools}
            assert names == {"add", "trap", "word_stats"}
            ok = await session.call_tool("add", {"a": 1, "b": 1})
            assert ok.structured_content == {"result": 2}
            bad = await session.call_tool("add", {})
            assert bad.is_error and "missing required argument 'a'" in text_of(bad)
            with anyio.fail_after(90):
                looping = await session.call_tool("trap", {"word": SPIN})
            assert looping.is_error and text_of(looping).startswith("timeout:")
            with anyio.fail_after(90):
                hog = await session.call_tool("trap", {"word": HOG})
            assert hog.is_error and text_of(hog).startswith("memory:"), text_of(hog)
            assert (await session.call_tool("add", {"a": 2})).structured_content == \
                {"result": 4}
            # list_changed reaches HTTP clients too (on the standalone stream).
            assert run_cli("promote", "shout", "-L", lib).exit_code == 0
            with anyio.fail_after(60):
                await notices.changed.wait()
            assert "shout" in {t.name for t in (await session.list_tools()).tools}
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    assert server.returncode in (0, -15), server.stderr.read().decode() if server.stderr \
        else ""
    assert not sock.exists()
    # Stopped by SIGTERM, it still wrote every call's usage record before exiting.
    events = UsageStore.for_library(lib).events()
    assert sorted(e.outcome for e in events) == ["bad_arguments", "memory", "ok", "ok",
                                                 "timeout"]
    assert {e.caller for e in events} == {"mcp"} and all(e.session for e in events)


async def test_streamable_http_on_a_local_port(lib: Path) -> None:
    from mcp.client.streamable_http import streamable_http_client

    server = subprocess.Popen([PYTHON, "-m", "toolforge", "mcp", "--transport", "http",
                               "--port", "0", "-L", str(lib)], stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        assert server.stderr is not None
        banner = server.stderr.readline()  # "toolforge mcp: serving ... at http://..."
        assert " at http://127.0.0.1:" in banner, banner
        url = banner.rsplit(" at ", 1)[1].strip()
        async with streamable_http_client(url) as (read, write), \
                ClientSession(read, write) as session:
            with anyio.fail_after(60):
                await session.initialize()
            assert (await session.call_tool("add", {"a": 3})).structured_content == \
                {"result": 5}
    finally:
        server.terminate()
        server.wait(30)


def test_mcp_command_refuses_bad_options(lib: Path) -> None:
    out = run_cli("mcp", "--transport", "carrier-pigeon", "-L", lib)
    assert out.exit_code == 2 and "unknown transport" in out.stderr
    out = run_cli("mcp", "--socket", "/tmp/x.sock", "-L", lib)
    assert out.exit_code == 2
    missing = subprocess.run([PYTHON, "-m", "toolforge", "mcp", "-L", str(lib / "nope")],
                             capture_output=True, text=True, timeout=60,
                             stdin=subprocess.DEVNULL)
    assert missing.returncode == 1 and "no library" in missing.stderr
    assert missing.stdout == ""  # stdout belongs to the protocol


if sys.platform != "linux":  # pragma: no cover
    pytest.skip("the sandbox needs Linux", allow_module_level=True)
