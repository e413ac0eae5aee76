"""The scripted model: an OpenAI-compatible HTTP server that answers from a script.

It is what tests and ``toolforge demo`` talk to instead of a hosted LLM, so the real client
path (litellm -> openai SDK -> HTTP) is exercised. It is not a language model and says so:
model id ``scripted``, ``system_fingerprint: "toolforge-scripted"`` and an
``X-Toolforge-Model: scripted`` header on every response.

A script is an ordered list of rules; the first rule whose ``match`` fits the request
answers it. Stdlib only (``ThreadingHTTPServer``), so it starts in milliseconds::

    {"name": "demo",
     "rules": [
       {"match": {"contains": ["parse"], "has_tools": true},
        "respond": {"tool_calls": [{"name": "parse_log", "arguments": {"line": "x"}}]}},
       {"match": {"role": "tool", "contains": ["ok"]}, "respond": {"content": "done"}},
       {"match": {"contains": ["flaky"]}, "times": 2,
        "respond": {"error": {"status": 429, "message": "slow down"}}}
     ],
     "fallback": {"content": "echo: {{last_user}}"}}
"""

from __future__ import annotations

import argparse
import base64
import fnmatch
import hashlib
import itertools
import json
import math
import re
import struct
import sys
import threading
import time
import tomllib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal, Self, TypedDict

from pydantic import BaseModel, ConfigDict, Field, model_validator

from toolforge.errors import ConfigError
from toolforge.llm.config import LLMSettings

SCRIPTED_MODEL_ID = "scripted"
SCRIPTED_FINGERPRINT = "toolforge-scripted"
#: The litellm model string that reaches this server through the OpenAI-compatible provider.
SCRIPTED_LITELLM_MODEL = "openai/scripted"
EMBEDDING_DIMS = 256

MessageRole = Literal["system", "user", "assistant", "tool", "any"]


# --- script -------------------------------------------------------------------------------


class Match(BaseModel):
    """Conditions a request must meet; all given ones must hold."""

    model_config = ConfigDict(extra="forbid")

    # Which message ``contains``/``regex`` look at: the last message with this role
    # ("any": the whole conversation). Default: the last user message.
    role: MessageRole = "user"
    contains: list[str] = Field(default_factory=list)
    regex: str | None = None
    model: str | None = None  # glob on the request's model, e.g. "synth-*"
    has_tools: bool | None = None
    tool_result_contains: str | None = None  # in the last tool message
    last_role: Literal["system", "user", "assistant", "tool"] | None = None

    @model_validator(mode="before")
    @classmethod
    def _contains_as_list(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("contains"), str):
            return {**data, "contains": [data["contains"]]}
        return data

    @model_validator(mode="after")
    def _regex_compiles(self) -> Self:
        if self.regex is not None:
            try:
                re.compile(self.regex)
            except re.error as exc:
                raise ValueError(f"invalid regex {self.regex!r}: {exc}") from exc
        return self


class ScriptedToolCall(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    # A dict is sent as JSON; a string is sent verbatim (to script malformed arguments).
    arguments: dict[str, Any] | str = Field(default_factory=dict)
    id: str | None = None


class ScriptedError(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: int = Field(default=500, ge=400, le=599)
    message: str = "scripted error"
    type: str | None = None
    code: str | None = None
    retry_after_s: float | None = None


class Respond(BaseModel):
    """What to answer: content and/or tool calls, or an HTTP error; optionally late."""

    model_config = ConfigDict(extra="forbid")

    content: str | None = None
    content_file: str | None = None  # relative to the script file; sent verbatim
    tool_calls: list[ScriptedToolCall] | None = None
    error: ScriptedError | None = None
    delay_s: float = Field(default=0.0, ge=0.0, le=600.0)
    finish_reason: str | None = None  # e.g. "length" to script truncated output

    @model_validator(mode="after")
    def _one_kind(self) -> Self:
        if self.content is not None and self.content_file is not None:
            raise ValueError("give content or content_file, not both")
        has_answer = (
            self.content is not None or self.content_file is not None or bool(self.tool_calls)
        )
        if self.error is not None and has_answer:
            raise ValueError("an error response cannot also carry content or tool_calls")
        if self.error is None and not has_answer:
            raise ValueError("respond needs content, content_file, tool_calls or error")
        return self


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    match: Match = Field(default_factory=Match)
    times: int | None = Field(default=None, ge=0)  # usable this many times, then skipped
    respond: Respond


class Script(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = "scripted"
    rules: list[Rule] = Field(default_factory=list)
    fallback: Respond | None = None
    # Where content_file paths are resolved; set by load(), else the working directory.
    base_dir: Path | None = Field(default=None, exclude=True)

    @classmethod
    def load(cls, path: str | Path) -> Script:
        """Read a script from ``.json`` or ``.toml``; ConfigError on anything wrong."""
        path = Path(path)
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise ConfigError(f"cannot read script {path}: {exc.strerror}") from exc
        try:
            if path.suffix.lower() == ".toml":
                data = tomllib.loads(raw.decode("utf-8"))
            elif path.suffix.lower() == ".json":
                data = json.loads(raw)
            else:
                raise ConfigError(f"script {path} must end in .json or .toml")
        except (ValueError, UnicodeDecodeError) as exc:
            raise ConfigError(f"script {path} is not valid {path.suffix[1:]}: {exc}") from exc
        try:
            script = cls.model_validate(data)
        except ValueError as exc:
            raise ConfigError(f"invalid script {path}: {exc}") from exc
        return script.model_copy(update={"base_dir": path.resolve().parent})

    def read_content_file(self, relative: str) -> str:
        base = (self.base_dir or Path.cwd()).resolve()
        target = (base / relative).resolve()
        if not target.is_relative_to(base):
            raise ConfigError(f"content_file {relative!r} leaves the script's directory")
        return target.read_text(encoding="utf-8")


# --- matching and answering (no HTTP here) ------------------------------------------------


class RequestLogEntry(TypedDict):
    path: str
    method: str
    body: Any
    matched_rule: str | None  # the rule's name, "rules[i]", "fallback" or None
    status: int
    response: Any
    timestamp: float


def _text_of(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # OpenAI content parts
        return "\n".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


def _last(messages: list[dict[str, Any]], role: str) -> dict[str, Any] | None:
    return next((m for m in reversed(messages) if m.get("role") == role), None)


def _estimate_tokens(text: str) -> int:
    # ~4 characters per token, as OpenAI's rule of thumb; realistic enough for accounting.
    return max(1, math.ceil(len(text) / 4)) if text else 0


class _Conversation:
    """The parts of a chat request that rules look at."""

    def __init__(self, body: dict[str, Any]) -> None:
        raw = body.get("messages")
        self.messages: list[dict[str, Any]] = (
            [m for m in raw if isinstance(m, dict)] if isinstance(raw, list) else []
        )
        self.model = str(body.get("model") or SCRIPTED_MODEL_ID)
        self.has_tools = bool(body.get("tools") or body.get("functions"))
        user, tool = _last(self.messages, "user"), _last(self.messages, "tool")
        self.last_user = _text_of(user) if user else ""
        self.last_tool = _text_of(tool) if tool else ""

    def text_for(self, role: str) -> str:
        if role == "any":
            return "\n".join(_text_of(m) for m in self.messages)
        message = _last(self.messages, role)
        return _text_of(message) if message else ""


class ScriptEngine:
    """Picks the rule for a request and builds the OpenAI-shaped answer. Thread-safe."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self._lock = threading.Lock()
        self._uses = [0] * len(script.rules)
        self._ids = itertools.count(1)

    def reset(self) -> None:
        with self._lock:
            self._uses = [0] * len(self.script.rules)

    def uses(self) -> list[int]:
        """How many requests each rule has taken so far, answered or still in flight (a
        delayed answer is logged only when it is sent)."""
        with self._lock:
            return list(self._uses)

    def choose(
        self, conv: _Conversation
    ) -> tuple[str | None, Respond | None, re.Match[str] | None]:
        with self._lock:
            for index, rule in enumerate(self.script.rules):
                if rule.times is not None and self._uses[index] >= rule.times:
                    continue
                found, regex_match = self._matches(rule.match, conv)
                if found:
                    self._uses[index] += 1
                    return rule.name or f"rules[{index}]", rule.respond, regex_match
        if self.script.fallback is not None:
            return "fallback", self.script.fallback, None
        return None, None, None

    @staticmethod
    def _matches(match: Match, conv: _Conversation) -> tuple[bool, re.Match[str] | None]:
        if match.model is not None and not fnmatch.fnmatchcase(conv.model, match.model):
            return False, None
        if match.has_tools is not None and match.has_tools != conv.has_tools:
            return False, None
        if match.last_role is not None and (
            not conv.messages or conv.messages[-1].get("role") != match.last_role
        ):
            return False, None
        if match.tool_result_contains is not None and (
            match.tool_result_contains not in conv.last_tool or _last(conv.messages, "tool") is None
        ):
            return False, None
        text = conv.text_for(match.role)
        if not all(needle in text for needle in match.contains):
            return False, None
        regex_match = None
        if match.regex is not None:
            regex_match = re.search(match.regex, text)
            if regex_match is None:
                return False, None
        return True, regex_match

    def next_id(self) -> int:
        with self._lock:
            return next(self._ids)

    def render(
        self, respond: Respond, conv: _Conversation, m: re.Match[str] | None
    ) -> tuple[str | None, list[dict[str, Any]]]:
        """Content and tool calls with placeholders filled in."""

        def fill(text: str) -> str:
            def sub(found: re.Match[str]) -> str:
                key = found.group(1)
                if key == "last_user":
                    return conv.last_user
                if key == "last_tool":
                    return conv.last_tool
                if key == "model":
                    return conv.model
                if m is not None and key.isdigit() and int(key) <= (m.re.groups or 0):
                    return m.group(int(key)) or ""
                return found.group(0)  # unknown: leave as written (e.g. f-string braces)

            return _PLACEHOLDER.sub(sub, text)

        def fill_value(value: Any) -> Any:
            if isinstance(value, str):
                return fill(value)
            if isinstance(value, dict):
                return {k: fill_value(v) for k, v in value.items()}
            if isinstance(value, list):
                return [fill_value(v) for v in value]
            return value

        if respond.content_file is not None:
            content: str | None = self.script.read_content_file(respond.content_file)
        else:
            content = fill(respond.content) if respond.content is not None else None
        calls: list[dict[str, Any]] = []
        for call in respond.tool_calls or []:
            args = call.arguments
            arguments = fill(args) if isinstance(args, str) else json.dumps(fill_value(args))
            calls.append(
                {
                    "id": call.id or f"call_scripted_{self.next_id()}",
                    "type": "function",
                    "function": {"name": call.name, "arguments": arguments},
                }
            )
        return content, calls


_PLACEHOLDER = re.compile(r"\{\{\s*(last_user|last_tool|model|\d)\s*\}\}")


def _error_body(status: int, message: str, type_: str | None, code: str | None) -> dict[str, Any]:
    default_type = {
        400: "invalid_request_error",
        401: "authentication_error",
        403: "permission_error",
        404: "not_found_error",
        429: "rate_limit_error",
    }.get(status, "server_error")
    return {
        "error": {"message": message, "type": type_ or default_type, "param": None, "code": code}
    }


def embed_text(text: str, dims: int = EMBEDDING_DIMS) -> list[float]:
    """Deterministic hashed bag-of-words vector, L2-normalised.

    Words and word bigrams are hashed into ``dims`` buckets with a hashed sign, so texts that
    share words have a high cosine similarity. Empty text maps to a fixed unit vector (a
    zero vector would make cosine similarity divide by zero).
    """
    words = re.findall(r"[a-z0-9]+", text.lower())
    vec = [0.0] * dims
    features = words + [f"{a} {b}" for a, b in itertools.pairwise(words)]
    for i, feature in enumerate(features):
        digest = hashlib.blake2b(feature.encode(), digest_size=8).digest()
        bucket = int.from_bytes(digest[:4], "little") % dims
        sign = 1.0 if digest[4] & 1 else -1.0
        vec[bucket] += sign * (1.0 if i < len(words) else 0.5)
    norm = math.sqrt(sum(v * v for v in vec))
    if norm == 0.0:
        vec[0] = 1.0
        return vec
    return [v / norm for v in vec]


# --- HTTP ---------------------------------------------------------------------------------


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    owner: ScriptedModelServer


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer
    server_version = "toolforge-scripted/1"

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the request log replaces stderr noise

    def _route(self) -> str:
        path = self.path.split("?", 1)[0].rstrip("/")
        return path[3:] if path.startswith("/v1") else path

    def do_GET(self) -> None:
        route = self._route()
        body: dict[str, Any]
        if route == "/models":
            body = {
                "object": "list",
                "data": [
                    {
                        "id": SCRIPTED_MODEL_ID,
                        "object": "model",
                        "created": 0,
                        "owned_by": SCRIPTED_FINGERPRINT,
                    }
                ],
            }
            self._reply(200, body, None, None)
        elif route == f"/models/{SCRIPTED_MODEL_ID}":
            body = {
                "id": SCRIPTED_MODEL_ID,
                "object": "model",
                "created": 0,
                "owned_by": SCRIPTED_FINGERPRINT,
            }
            self._reply(200, body, None, None)
        else:
            self._reply(404, _error_body(404, f"no route {self.path}", None, None), None, None)

    def do_POST(self) -> None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            if not isinstance(body, dict):
                raise ValueError("the request body must be a JSON object")
        except ValueError as exc:
            err = _error_body(400, f"invalid request body: {exc}", None, None)
            self._reply(400, err, None, None)
            return
        route = self._route()
        owner = self.server.owner
        try:
            if route == "/chat/completions":
                owner._handle_chat(self, body)
            elif route == "/embeddings":
                owner._handle_embeddings(self, body)
            else:
                self._reply(404, _error_body(404, f"no route {self.path}", None, None), body, None)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client went away (e.g. it timed out on a delayed answer)
        except Exception as exc:  # a broken script must give a clear 500, never a hang
            err = _error_body(
                500, f"scripted model failed: {type(exc).__name__}: {exc}", None, None
            )
            self._reply(500, err, body, None)

    def _headers(self, status: int, content_type: str, extra: dict[str, str] | None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("X-Toolforge-Model", SCRIPTED_MODEL_ID)
        for key, value in (extra or {}).items():
            self.send_header(key, value)

    def _reply(
        self,
        status: int,
        payload: Any,
        request_body: Any,
        rule: str | None,
        extra_headers: dict[str, str] | None = None,
    ) -> None:
        data = json.dumps(payload).encode()
        # Log first: a client may act on the answer before this thread runs again.
        self.server.owner._log(self, request_body, rule, status, payload)
        self._headers(status, "application/json", extra_headers)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _stream(
        self, chunks: list[dict[str, Any]], request_body: Any, rule: str | None, logged: Any
    ) -> None:
        self.server.owner._log(self, request_body, rule, 200, logged)
        # HTTP/1.0 semantics: the connection closes after the stream, which ends it.
        self._headers(200, "text/event-stream", {"Cache-Control": "no-cache"})
        self.end_headers()
        for chunk in chunks:
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            self.wfile.flush()
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()


class ScriptedModelServer:
    """Serve a :class:`Script` on ``127.0.0.1`` at a free port, in a background thread.

    ``with ScriptedModelServer(script) as server: ...`` or ``start()``/``stop()``.
    ``server.requests`` is the log of every request (path, body, matched_rule, response).
    """

    def __init__(
        self,
        script: Script | Path | str | dict[str, Any],
        *,
        port: int = 0,
        log_path: Path | None = None,
    ) -> None:
        if isinstance(script, Script):
            self.script = script
        elif isinstance(script, dict):
            self.script = Script.model_validate(script)
        else:
            self.script = Script.load(script)
        self.engine = ScriptEngine(self.script)
        self._port = port
        self._log_path = log_path
        self._log_lock = threading.Lock()
        self._requests: list[RequestLogEntry] = []
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # lifecycle

    def start(self) -> str:
        if self._httpd is not None:
            return self.base_url
        httpd = _HTTPServer(("127.0.0.1", self._port), _Handler)
        httpd.owner = self
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="toolforge-scripted-model",
            daemon=True,
        )
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("the scripted model server is not running")
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def llm_settings(self, **overrides: Any) -> LLMSettings:
        """LLMSettings pointing every role at this server (model ``openai/scripted``)."""
        fields: dict[str, Any] = {
            "model": SCRIPTED_LITELLM_MODEL,
            "model_source": f"scripted model at {self.base_url}",
            "embedding_model": SCRIPTED_LITELLM_MODEL,
            "api_base": self.base_url,
            "api_key": SCRIPTED_MODEL_ID,
        }
        return LLMSettings.model_validate({**fields, **overrides})

    # log

    @property
    def requests(self) -> list[RequestLogEntry]:
        with self._log_lock:
            return list(self._requests)

    def chat_requests(self) -> list[RequestLogEntry]:
        return [r for r in self.requests if r["path"].endswith("/chat/completions")]

    def reset(self) -> None:
        """Forget the request log and the ``times`` counters."""
        with self._log_lock:
            self._requests.clear()
        self.engine.reset()

    def _log(
        self, handler: _Handler, body: Any, rule: str | None, status: int, response: Any
    ) -> None:
        entry: RequestLogEntry = {
            "path": handler.path,
            "method": handler.command,
            "body": body,
            "matched_rule": rule,
            "status": status,
            "response": response,
            "timestamp": time.time(),
        }
        with self._log_lock:
            self._requests.append(entry)
            if self._log_path is not None:
                with self._log_path.open("a", encoding="utf-8") as fh:
                    fh.write(json.dumps(entry) + "\n")

    # endpoints

    def _handle_chat(self, handler: _Handler, body: dict[str, Any]) -> None:
        conv = _Conversation(body)
        rule, respond, regex_match = self.engine.choose(conv)
        if respond is None:
            why = (
                f"no scripted rule matched (script {self.script.name!r}, "
                f"{len(self.script.rules)} rules, no fallback); "
                f"last user message: {conv.last_user[:500]!r}"
            )
            err = _error_body(500, why, "scripted_no_match", "no_rule_matched")
            handler._reply(500, err, body, None)
            return
        if respond.delay_s:
            time.sleep(respond.delay_s)
        if respond.error is not None:
            e = respond.error
            headers = {}
            if e.retry_after_s is not None:
                headers["Retry-After"] = f"{e.retry_after_s:g}"
            handler._reply(
                e.status, _error_body(e.status, e.message, e.type, e.code), body, rule, headers
            )
            return
        content, calls = self.engine.render(respond, conv, regex_match)
        finish = respond.finish_reason or ("tool_calls" if calls else "stop")
        prompt_tokens = _estimate_tokens(
            json.dumps(conv.messages) if conv.messages else ""
        ) + _estimate_tokens(json.dumps(body.get("tools") or []) if conv.has_tools else "")
        completion_text = (content or "") + (json.dumps(calls) if calls else "")
        completion_tokens = _estimate_tokens(completion_text)
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }
        completion_id = f"chatcmpl-scripted-{self.engine.next_id()}"
        created = int(time.time())
        message: dict[str, Any] = {"role": "assistant", "content": content}
        if calls:
            message["tool_calls"] = calls
        payload = {
            "id": completion_id,
            "object": "chat.completion",
            "created": created,
            "model": conv.model,
            "system_fingerprint": SCRIPTED_FINGERPRINT,
            "choices": [
                {"index": 0, "message": message, "finish_reason": finish, "logprobs": None}
            ],
            "usage": usage,
        }
        if not body.get("stream"):
            handler._reply(200, payload, body, rule)
            return
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        chunks = _stream_chunks(payload, content, calls, finish, include_usage)
        handler._stream(chunks, body, rule, payload)

    def _handle_embeddings(self, handler: _Handler, body: dict[str, Any]) -> None:
        raw = body.get("input")
        if isinstance(raw, str):
            texts = [raw]
        elif isinstance(raw, list) and all(isinstance(t, int) for t in raw):
            texts = [" ".join(map(str, raw))]  # one pre-tokenised input
        elif isinstance(raw, list):
            texts = [t if isinstance(t, str) else " ".join(map(str, t)) for t in raw]
        else:
            err = _error_body(400, "'input' must be a string or a list", None, None)
            handler._reply(400, err, body, None)
            return
        dims = int(body.get("dimensions") or EMBEDDING_DIMS)
        use_base64 = body.get("encoding_format") == "base64"
        data = []
        for index, text in enumerate(texts):
            vector = embed_text(text, dims)
            encoded: Any = vector
            if use_base64:  # the openai SDK asks for base64 by default
                encoded = base64.b64encode(struct.pack(f"<{dims}f", *vector)).decode()
            data.append({"object": "embedding", "index": index, "embedding": encoded})
        tokens = sum(_estimate_tokens(t) for t in texts)
        payload = {
            "object": "list",
            "data": data,
            "model": str(body.get("model") or SCRIPTED_MODEL_ID),
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }
        handler._reply(200, payload, body, "embeddings")


def _stream_chunks(
    payload: dict[str, Any],
    content: str | None,
    calls: list[dict[str, Any]],
    finish: str,
    include_usage: bool,
) -> list[dict[str, Any]]:
    """The same answer as SSE ``chat.completion.chunk`` objects."""
    base = {k: payload[k] for k in ("id", "created", "model", "system_fingerprint")}
    base["object"] = "chat.completion.chunk"

    def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}
        return {**base, "choices": [choice]}

    chunks = [chunk({"role": "assistant", "content": ""})]
    if content:
        # A few pieces, split on word boundaries, so clients really have to reassemble.
        pieces = re.findall(r"\S*\s*", content)
        step = max(1, math.ceil(len(pieces) / 4))
        for i in range(0, len(pieces), step):
            piece = "".join(pieces[i : i + step])
            if piece:
                chunks.append(chunk({"content": piece}))
    for index, call in enumerate(calls):
        args = call["function"]["arguments"]
        half = len(args) // 2
        head = {
            "index": index,
            "id": call["id"],
            "type": "function",
            "function": {"name": call["function"]["name"], "arguments": args[:half]},
        }
        chunks.append(chunk({"tool_calls": [head]}))
        tail = {"index": index, "function": {"arguments": args[half:]}}
        chunks.append(chunk({"tool_calls": [tail]}))
    chunks.append(chunk({}, finish))
    if include_usage:
        chunks.append({**base, "choices": [], "usage": payload["usage"]})
    return chunks


# --- command line -------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m toolforge.testing.scripted_model",
        description="Serve a scripted (not a real) OpenAI-compatible model from a script file.",
    )
    parser.add_argument("script", type=Path, help="script file (.json or .toml)")
    parser.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    parser.add_argument("--log", type=Path, default=None, help="append requests to this JSONL")
    args = parser.parse_args(argv)
    try:
        server = ScriptedModelServer(args.script, port=args.port, log_path=args.log)
        url = server.start()
    except (ConfigError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(url, flush=True)
    print(
        f"scripted model (not a real LLM) serving script {server.script.name!r}; "
        f"use model {SCRIPTED_LITELLM_MODEL!r} with api_base {url}. Ctrl-C stops.",
        file=sys.stderr,
        flush=True,
    )
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


__all__ = [
    "EMBEDDING_DIMS",
    "SCRIPTED_FINGERPRINT",
    "SCRIPTED_LITELLM_MODEL",
    "SCRIPTED_MODEL_ID",
    "Match",
    "RequestLogEntry",
    "Respond",
    "Rule",
    "Script",
    "ScriptEngine",
    "ScriptedError",
    "ScriptedModelServer",
    "ScriptedToolCall",
    "embed_text",
    "main",
]
