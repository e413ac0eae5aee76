"""The scripted model server: script loading, rule matching, the OpenAI wire format
(plain, streamed, embeddings), the request log and the command line entry."""

from __future__ import annotations

import base64
import json
import math
import os
import signal
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from toolforge.errors import ConfigError
from toolforge.testing import Script, ScriptedModelServer, embed_text

RULES: dict[str, Any] = {
    "name": "server-tests",
    "rules": [
        {
            "name": "after-tool",
            "match": {"tool_result_contains": "sunny", "last_role": "tool"},
            "respond": {"content": "It is {{last_tool}} there."},
        },
        {
            "name": "weather-call",
            "match": {"contains": ["weather"], "has_tools": True},
            "respond": {
                "tool_calls": [
                    {"name": "get_weather", "arguments": {"city": "Paris", "note": "{{last_user}}"}}
                ]
            },
        },
        {
            "name": "judge-only",
            "match": {"model": "judge-*", "contains": ["grade"]},
            "respond": {"content": "A"},
        },
        {
            "name": "system",
            "match": {"role": "system", "contains": ["pirate"]},
            "respond": {"content": "Arr."},
        },
        {
            "name": "adder",
            "match": {"regex": r"add (\d+) and (\d+)"},
            "respond": {"content": "adding {{1}} + {{2}}"},
        },
        {
            "name": "once",
            "match": {"contains": ["once"]},
            "times": 1,
            "respond": {"content": "first"},
        },
        {"name": "once-after", "match": {"contains": ["once"]}, "respond": {"content": "later"}},
        {
            "name": "limited",
            "match": {"contains": ["busy"]},
            "respond": {"error": {"status": 429, "message": "busy", "retry_after_s": 2}},
        },
        {
            "name": "long",
            "match": {"contains": ["story"]},
            "respond": {"content": "once upon a time there was a tool that parsed logs well"},
        },
        {
            "name": "late",
            "match": {"contains": ["late"]},
            "respond": {"content": "finally", "delay_s": 0.2},
        },
    ],
}


@pytest.fixture
def server() -> Iterator[ScriptedModelServer]:
    with ScriptedModelServer(RULES) as srv:
        yield srv


def chat(
    server: ScriptedModelServer, messages: list[dict[str, Any]], **extra: Any
) -> httpx.Response:
    body = {"model": "scripted", "messages": messages, **extra}
    return httpx.post(f"{server.base_url}/chat/completions", json=body, timeout=10)


def content_of(resp: httpx.Response) -> str:
    assert resp.status_code == 200, resp.text
    return resp.json()["choices"][0]["message"]["content"]


def test_models_endpoint_and_honest_naming(server: ScriptedModelServer) -> None:
    resp = httpx.get(f"{server.base_url}/models")
    assert resp.status_code == 200
    assert [m["id"] for m in resp.json()["data"]] == ["scripted"]
    assert resp.headers["X-Toolforge-Model"] == "scripted"
    assert server.base_url.startswith("http://127.0.0.1:")


def test_chat_completion_shape(server: ScriptedModelServer) -> None:
    resp = chat(server, [{"role": "user", "content": "tell me a story"}], model="my-alias")
    data = resp.json()
    assert data["object"] == "chat.completion" and data["model"] == "my-alias"
    assert data["system_fingerprint"] == "toolforge-scripted"
    assert resp.headers["X-Toolforge-Model"] == "scripted"
    usage = data["usage"]
    assert usage["prompt_tokens"] > 0 and usage["completion_tokens"] > 5
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert data["choices"][0]["finish_reason"] == "stop"


def test_rules_match_in_order_on_roles_models_and_regex(server: ScriptedModelServer) -> None:
    pirate = [
        {"role": "system", "content": "You are a pirate."},
        {"role": "user", "content": "hello"},
    ]
    assert content_of(chat(server, pirate)) == "Arr."
    grade = [{"role": "user", "content": "grade this"}]
    assert content_of(chat(server, grade, model="judge-small")) == "A"
    assert chat(server, grade, model="agent-big").status_code == 500  # the model glob misses
    adder = [{"role": "user", "content": "please add 2 and 40"}]
    assert content_of(chat(server, adder)) == "adding 2 + 40"
    once = [{"role": "user", "content": "just once"}]
    assert [content_of(chat(server, once)) for _ in range(3)] == ["first", "later", "later"]
    assert [r["matched_rule"] for r in server.requests][-3:] == ["once", "once-after", "once-after"]


def test_tool_call_then_tool_result_conversation(server: ScriptedModelServer) -> None:
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {}}}]
    first = chat(server, [{"role": "user", "content": "weather in Paris?"}], tools=tools)
    message = first.json()["choices"][0]
    assert message["finish_reason"] == "tool_calls"
    [call] = message["message"]["tool_calls"]
    assert call["type"] == "function" and call["id"].startswith("call_scripted_")
    args = json.loads(call["function"]["arguments"])
    assert args == {"city": "Paris", "note": "weather in Paris?"}
    # Without tools offered the weather rule does not match.
    assert chat(server, [{"role": "user", "content": "weather?"}]).status_code == 500

    follow_up = [
        {"role": "user", "content": "weather in Paris?"},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": call["id"], "content": "sunny"},
    ]
    assert content_of(chat(server, follow_up, tools=tools)) == "It is sunny there."


def test_no_rule_matched_is_a_500_that_names_the_message(server: ScriptedModelServer) -> None:
    resp = chat(server, [{"role": "user", "content": "something unexpected"}])
    assert resp.status_code == 500
    error = resp.json()["error"]
    assert "no scripted rule matched" in error["message"]
    assert "something unexpected" in error["message"]
    assert server.requests[-1]["matched_rule"] is None


def test_scripted_errors_carry_status_and_retry_after(server: ScriptedModelServer) -> None:
    resp = chat(server, [{"role": "user", "content": "are you busy?"}])
    assert resp.status_code == 429 and resp.headers["Retry-After"] == "2"
    assert resp.json()["error"] == {
        "message": "busy",
        "type": "rate_limit_error",
        "param": None,
        "code": None,
    }


def test_delay(server: ScriptedModelServer) -> None:
    started = time.perf_counter()
    assert content_of(chat(server, [{"role": "user", "content": "be late"}])) == "finally"
    assert time.perf_counter() - started >= 0.2


def test_fallback_and_content_parts() -> None:
    script = {"rules": [], "fallback": {"content": "echo: {{last_user}} ({{model}})"}}
    with ScriptedModelServer(script) as srv:
        parts = [{"type": "text", "text": "hi"}, {"type": "text", "text": "there"}]
        resp = chat(srv, [{"role": "user", "content": parts}])
        assert content_of(resp) == "echo: hi\nthere (scripted)"
        assert srv.requests[-1]["matched_rule"] == "fallback"


def test_streaming_through_the_openai_sdk(server: ScriptedModelServer) -> None:
    client = openai.OpenAI(base_url=server.base_url, api_key="scripted", max_retries=0)
    stream = client.chat.completions.create(
        model="scripted",
        messages=[{"role": "user", "content": "a story please"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "once upon a time there was a tool that parsed logs well"
    assert sum(1 for c in chunks if c.choices and c.choices[0].delta.content) > 1
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0

    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {}}}]
    stream = client.chat.completions.create(
        model="scripted",
        messages=[{"role": "user", "content": "weather?"}],
        tools=tools,  # type: ignore[arg-type]
        stream=True,
    )
    arguments, names = "", []
    for chunk in stream:
        for delta in chunk.choices[0].delta.tool_calls or []:
            names += [delta.function.name] if delta.function and delta.function.name else []
            arguments += (delta.function.arguments or "") if delta.function else ""
    assert names == ["get_weather"]
    assert json.loads(arguments) == {"city": "Paris", "note": "weather?"}


def test_embeddings_float_and_base64(server: ScriptedModelServer) -> None:
    url = f"{server.base_url}/embeddings"
    resp = httpx.post(url, json={"model": "scripted", "input": ["parse logs", "parse logs"]})
    data = resp.json()
    first, second = (row["embedding"] for row in data["data"])
    assert first == second and len(first) == 256
    assert math.isclose(math.sqrt(sum(v * v for v in first)), 1.0, rel_tol=1e-9)
    assert data["usage"]["prompt_tokens"] > 0

    resp = httpx.post(url, json={"input": "parse logs", "encoding_format": "base64"})
    raw = base64.b64decode(resp.json()["data"][0]["embedding"])
    decoded = struct.unpack(f"<{len(raw) // 4}f", raw)
    assert all(math.isclose(a, b, abs_tol=1e-6) for a, b in zip(decoded, first, strict=True))

    assert embed_text("") == embed_text("   ")  # a fixed unit vector, never zeros
    assert math.isclose(sum(v * v for v in embed_text("")), 1.0)


def test_bad_requests_are_answered_not_hung(server: ScriptedModelServer) -> None:
    resp = httpx.post(f"{server.base_url}/chat/completions", content=b"{not json")
    assert resp.status_code == 400 and "invalid request body" in resp.json()["error"]["message"]
    assert httpx.post(f"{server.base_url}/nowhere", json={}).status_code == 404
    assert httpx.get(f"{server.base_url}/nowhere").status_code == 404


def test_request_log_in_memory_and_jsonl(tmp_path: Path) -> None:
    log = tmp_path / "requests.jsonl"
    with ScriptedModelServer(RULES, log_path=log) as srv:
        chat(srv, [{"role": "user", "content": "a story"}])
        chat(srv, [{"role": "user", "content": "unmatched"}])
        entries = srv.requests
        assert [e["matched_rule"] for e in entries] == ["long", None]
        assert entries[0]["path"] == "/v1/chat/completions"
        assert entries[0]["body"]["messages"][0]["content"] == "a story"
        assert entries[0]["response"]["choices"][0]["message"]["content"].startswith("once")
        assert entries[1]["status"] == 500
        srv.reset()
        assert srv.requests == []
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert [line["matched_rule"] for line in lines] == ["long", None]


def test_script_files_json_and_toml(tmp_path: Path) -> None:
    (tmp_path / "answers").mkdir()
    (tmp_path / "answers" / "tool.py").write_text("def f():\n    return '{{last_user}}'\n")
    toml_script = tmp_path / "demo.toml"
    toml_script.write_text(
        'name = "demo"\n'
        "[[rules]]\n"
        'match = { contains = "code" }\n'
        'respond = { content_file = "answers/tool.py" }\n'
        "[fallback]\n"
        'content = "fallback"\n'
    )
    script = Script.load(toml_script)
    assert script.name == "demo" and script.rules[0].match.contains == ["code"]
    with ScriptedModelServer(toml_script) as srv:
        # content_file is sent verbatim: no placeholder filling inside code.
        assert content_of(chat(srv, [{"role": "user", "content": "code"}])) == (
            "def f():\n    return '{{last_user}}'\n"
        )
        assert content_of(chat(srv, [{"role": "user", "content": "x"}])) == "fallback"

    json_script = tmp_path / "demo.json"
    json_script.write_text(json.dumps(RULES))
    assert len(Script.load(json_script).rules) == len(RULES["rules"])


@pytest.mark.parametrize(
    ("name", "text", "problem"),
    [
        ("s.yaml", "rules: []", "must end in .json or .toml"),
        ("s.json", "{broken", "not valid json"),
        ("s.json", '{"rules": [{"respond": {}}]}', "respond needs content"),
        ("s.json", '{"rules": [{"match": {"regex": "("}, "respond": {"content": "x"}}]}', "regex"),
        ("s.json", '{"rules": [], "colour": "blue"}', "colour"),
        (
            "s.json",
            '{"rules": [{"respond": {"content": "x", "error": {"status": 429}}}]}',
            "cannot also carry",
        ),
    ],
)
def test_invalid_scripts_are_config_errors(
    tmp_path: Path, name: str, text: str, problem: str
) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ConfigError, match=problem):
        Script.load(path)


def test_content_file_cannot_escape_the_script_directory(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"rules": [{"respond": {"content_file": "../../etc/passwd"}}]}))
    with ScriptedModelServer(path) as srv:
        resp = chat(srv, [{"role": "user", "content": "x"}])
        assert resp.status_code == 500 and "leaves the script" in resp.json()["error"]["message"]


def test_llm_settings_point_every_role_at_the_server(server: ScriptedModelServer) -> None:
    settings = server.llm_settings()
    for role in ("agent", "synthesis", "tests", "adversarial", "judge"):
        cfg = settings.for_role(role)
        assert (cfg.model, cfg.api_base) == ("openai/scripted", server.base_url)


def test_command_line_entry_serves_until_interrupted(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"fallback": {"content": "hi from the script"}}))
    proc = subprocess.Popen(
        [sys.executable, "-m", "toolforge.testing.scripted_model", str(path), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:") and url.endswith("/v1")
        body = {"model": "scripted", "messages": [{"role": "user", "content": "hey"}]}
        resp = httpx.post(f"{url}/chat/completions", json=body, timeout=10)
        assert resp.json()["choices"][0]["message"]["content"] == "hi from the script"
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert "scripted model (not a real LLM)" in err
    assert "RuntimeWarning" not in err
