"""The LLM layer: config resolution, the real litellm client path against the scripted
model, usage accounting, retries, and defensive parsing."""

from __future__ import annotations

import math
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toolforge.errors import ConfigError
from toolforge.llm import (
    LLMClient,
    LLMError,
    LLMSettings,
    ParseError,
    UsageLedger,
    detect_refusal,
    extract_code,
    extract_json,
    load_llm_settings,
)
from toolforge.llm.client import _backoff_s
from toolforge.llm.config import ModelConfig
from toolforge.testing import ScriptedModelServer

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}

SCRIPT: dict[str, Any] = {
    "name": "llm-tests",
    "rules": [
        {
            "name": "weather",
            "match": {"contains": ["weather"], "has_tools": True},
            "respond": {"tool_calls": [{"name": "get_weather", "arguments": {"city": "Paris"}}]},
        },
        {
            "name": "flaky",
            "match": {"contains": ["flaky"]},
            "times": 2,
            "respond": {"error": {"status": 429, "message": "rate limited, slow down"}},
        },
        {"name": "recovered", "match": {"contains": ["flaky"]}, "respond": {"content": "ok now"}},
        {
            "name": "bad",
            "match": {"contains": ["bad request"]},
            "respond": {"error": {"status": 400, "message": "this request is malformed"}},
        },
        {
            "name": "down",
            "match": {"contains": ["down"]},
            "respond": {"error": {"status": 503, "message": "overloaded"}},
        },
        {
            "name": "slow",
            "match": {"contains": ["slow"]},
            "respond": {"delay_s": 0.6, "content": "too late"},
        },
        {
            "name": "refuse",
            "match": {"contains": ["malware"]},
            "respond": {"content": "I'm sorry, but I can't help with that."},
        },
        {
            "name": "cut",
            "match": {"contains": ["long"]},
            "respond": {"content": '{"items": [1, 2, 3', "finish_reason": "length"},
        },
        {
            "name": "code",
            "match": {"role": "system", "contains": ["write python"]},
            "respond": {
                "content": "Here you go:\n```python\ndef add(a, b):\n    return a + b\n```"
            },
        },
        {"name": "echo", "match": {"contains": ["echo"]}, "respond": {"content": "{{last_user}}"}},
    ],
}


@pytest.fixture
def server() -> Iterator[ScriptedModelServer]:
    with ScriptedModelServer(SCRIPT) as srv:
        yield srv


def fast_settings(server: ScriptedModelServer, **overrides: Any) -> LLMSettings:
    fields = {"backoff_initial_s": 0.01, "backoff_max_s": 0.05, "max_retries": 3}
    return server.llm_settings(**{**fields, **overrides})


def user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


# --- import discipline ------------------------------------------------------------------


def test_importing_llm_package_does_not_import_litellm() -> None:
    code = (
        "import sys\n"
        "import toolforge.llm, toolforge.llm.config, toolforge.llm.usage\n"
        "import toolforge.llm.parsing, toolforge.llm.client, toolforge.testing\n"
        "import toolforge.testing.scripted_model\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'litellm', 'textual', 'fastapi', 'uvicorn'})\n"
        "assert not bad, bad\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


# --- config -----------------------------------------------------------------------------


def test_role_env_beats_roles_table_beats_global_env_beats_toml() -> None:
    table = {"model": "toml-default", "roles": {"synthesis": "toml-synth", "judge": "toml-judge"}}
    env = {"TOOLFORGE_MODEL": "env-default", "TOOLFORGE_SYNTH_MODEL": "env-synth"}
    s = load_llm_settings(table, env)
    assert s.for_role("synthesis").model == "env-synth"
    assert s.for_role("synthesis").source == "env TOOLFORGE_SYNTH_MODEL"
    assert s.for_role("judge").model == "toml-judge"
    assert s.for_role("agent").model == "env-default"
    assert load_llm_settings(table, {}).for_role("agent").model == "toml-default"
    assert load_llm_settings(table, {}).for_role("agent").source == "user config [llm] model"


def test_every_role_has_its_env_var() -> None:
    env = {
        "TOOLFORGE_AGENT_MODEL": "a",
        "TOOLFORGE_SYNTH_MODEL": "s",
        "TOOLFORGE_TESTS_MODEL": "t",
        "TOOLFORGE_ADVERSARIAL_MODEL": "x",
        "TOOLFORGE_JUDGE_MODEL": "j",
    }
    s = load_llm_settings(None, env)
    got = {r: s.for_role(r).model for r in ("agent", "synthesis", "tests", "adversarial", "judge")}
    assert got == {"agent": "a", "synthesis": "s", "tests": "t", "adversarial": "x", "judge": "j"}


def test_role_tables_override_settings_field_by_field() -> None:
    table = {
        "model": "openai/gpt-4o-mini",
        "api_base": "http://toml:1/v1",
        "temperature": 0.7,
        "timeout_s": 30,
        "roles": {"tests": {"model": "ollama/qwen", "api_base": "http://ollama:11434"}},
    }
    s = load_llm_settings(table, {"TOOLFORGE_API_BASE": "http://env:2/v1"})
    tests_cfg = s.for_role("tests")
    assert (tests_cfg.model, tests_cfg.api_base) == ("ollama/qwen", "http://ollama:11434")
    assert tests_cfg.temperature == 0.7 and tests_cfg.timeout_s == 30
    assert s.for_role("agent").api_base == "http://env:2/v1"  # env beats [llm] api_base


def test_api_key_from_env_is_secret_and_the_config_names_an_env_var() -> None:
    s = load_llm_settings({"model": "m"}, {"TOOLFORGE_API_KEY": "sk-very-secret"})
    cfg = s.for_role("agent")
    assert cfg.api_key is not None and cfg.api_key.get_secret_value() == "sk-very-secret"
    assert "sk-very-secret" not in repr(cfg) and "sk-very-secret" not in cfg.model_dump_json()

    s = load_llm_settings({"model": "m", "api_key_env": "MY_KEY"}, {"MY_KEY": "k1"})
    assert s.for_role("judge").api_key is not None
    with pytest.raises(ConfigError, match="never live in a settings file"):
        load_llm_settings({"model": "m", "api_key": "sk-in-git"}, {})
    # A key exported only when needed breaks nothing until a role that needs it is used.
    unset = load_llm_settings({"model": "m", "api_key_env": "MY_KEY"}, {})
    with pytest.raises(ConfigError, match="MY_KEY"):
        unset.for_role("agent")
    # Never another key in its place: it would go to an endpoint it is not meant for.
    roles = {"roles": {"judge": {"api_base": "http://judge:1/v1", "api_key_env": "JUDGE_KEY"}}}
    mixed = load_llm_settings({"model": "m", **roles}, {"TOOLFORGE_API_KEY": "sk-general"})
    with pytest.raises(ConfigError, match="JUDGE_KEY"):
        mixed.for_role("judge")
    assert mixed.for_role("agent").api_key is not None


def test_no_model_configured_says_exactly_how_to_configure_one() -> None:
    s = load_llm_settings({}, {})
    with pytest.raises(ConfigError) as info:
        s.for_role("synthesis")
    err = info.value
    assert "no model configured for role 'synthesis'" in err.message
    hint = err.hint or ""
    for needle in (
        "TOOLFORGE_MODEL=openai/gpt-4o-mini",
        "TOOLFORGE_SYNTH_MODEL=",
        "[llm]",
        "[llm.roles]",
        "ollama/",
        "TOOLFORGE_API_BASE=http://localhost:8000/v1",
        "OPENAI_API_KEY",
    ):
        assert needle in hint
    # The client refuses before touching the network (or importing litellm).
    with pytest.raises(ConfigError):
        LLMClient(s).complete("agent", user("hi"))


def test_config_errors_are_clear() -> None:
    with pytest.raises(ConfigError, match="unknown role 'synth'"):
        load_llm_settings({"roles": {"synth": "m"}}, {})
    with pytest.raises(ConfigError, match="unknown key"):
        load_llm_settings({"modle": "m"}, {})
    with pytest.raises(ConfigError, match="temperature"):
        load_llm_settings({"model": "m", "temperature": "hot"}, {})
    with pytest.raises(ConfigError, match="unknown LLM role"):
        load_llm_settings({"model": "m"}, {}).for_role("poet")


def test_whole_toml_document_and_blank_env_are_accepted() -> None:
    s = load_llm_settings({"llm": {"model": "doc-model"}}, {"TOOLFORGE_MODEL": "  "})
    assert s.for_role("agent").model == "doc-model"


# --- the client against the scripted model ------------------------------------------------


def test_complete_returns_content_and_records_usage(server: ScriptedModelServer) -> None:
    ledger = UsageLedger()
    client = LLMClient(fast_settings(server), ledger)
    result = client.complete("agent", user("please echo this"))
    assert result.content == "please echo this"
    assert result.tool_calls == []
    assert result.finish_reason == "stop" and result.role == "agent"
    served = server.chat_requests()[-1]["response"]["usage"]
    assert (result.prompt_tokens, result.completion_tokens) == (
        served["prompt_tokens"],
        served["completion_tokens"],
    )
    assert result.cost_usd == 0.0 and result.cost_known is False  # litellm has no price
    [record] = ledger.records()
    assert record.ok and record.role == "agent" and record.model == "openai/scripted"
    assert record.prompt_tokens > 0 and record.completion_tokens > 0
    assert record.latency_ms > 0 and record.cost_known is False
    # The request really went through litellm's OpenAI-compatible path.
    assert server.chat_requests()[-1]["body"]["model"] == "scripted"


def test_complete_with_tools_returns_tool_calls(server: ScriptedModelServer) -> None:
    client = LLMClient(fast_settings(server))
    result = client.complete(
        "agent", user("what's the weather in Paris?"), tools=[WEATHER_TOOL], tool_choice="auto"
    )
    assert result.finish_reason == "tool_calls"
    [call] = result.tool_calls
    assert call.name == "get_weather" and call.id
    assert call.parsed_arguments() == {"city": "Paris"}
    body = server.chat_requests()[-1]["body"]
    assert body["tools"][0]["function"]["name"] == "get_weather"
    assert "_skip_mcp_handler" not in body  # litellm's internal flag never leaks


def test_role_and_system_prompt_select_the_rule(server: ScriptedModelServer) -> None:
    client = LLMClient(fast_settings(server))
    messages = [
        {"role": "system", "content": "You write python tools."},
        {"role": "user", "content": "add two numbers"},
    ]
    result = client.complete("synthesis", messages, temperature=0.0)
    assert extract_code(result.content or "") == "def add(a, b):\n    return a + b"
    assert server.chat_requests()[-1]["body"]["temperature"] == 0.0


def test_usage_per_cycle_with_two_threads(server: ScriptedModelServer) -> None:
    ledger = UsageLedger()
    client = LLMClient(fast_settings(server), ledger)
    barrier = threading.Barrier(2)

    def run(cycle: str, calls: int) -> None:
        with ledger.cycle(cycle):
            barrier.wait()
            for i in range(calls):
                client.complete("synthesis", user(f"echo {cycle} {i}"))

    threads = [threading.Thread(target=run, args=(c, n)) for c, n in (("c1", 2), ("c2", 3))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    client.complete("agent", user("echo outside any cycle"))

    t1, t2, everything = ledger.totals("c1"), ledger.totals("c2"), ledger.totals()
    assert (t1.calls, t2.calls, everything.calls) == (2, 3, 6)
    assert t1.total_tokens > 0 and t1.total_tokens == t1.prompt_tokens + t1.completion_tokens
    assert everything.total_tokens > t1.total_tokens + t2.total_tokens
    assert everything.cost_known is False and everything.failed_calls == 0
    assert set(ledger.cycles()) == {"c1", "c2"}
    assert all(r.cycle_id == "c1" for r in ledger.records("c1"))
    assert ledger.records()[-1].cycle_id is None
    assert ledger.totals(role="agent").calls == 1


def test_rate_limits_are_retried_then_succeed(server: ScriptedModelServer) -> None:
    ledger = UsageLedger()
    result = LLMClient(fast_settings(server), ledger).complete("agent", user("flaky call"))
    assert result.content == "ok now" and result.attempts == 3
    assert [r["matched_rule"] for r in server.chat_requests()] == ["flaky", "flaky", "recovered"]
    [record] = ledger.records()  # one call, however many attempts
    assert record.ok and record.attempts == 3


def test_bad_request_fails_at_once_without_retries(server: ScriptedModelServer) -> None:
    ledger = UsageLedger()
    with pytest.raises(LLMError) as info:
        LLMClient(fast_settings(server), ledger).complete("judge", user("a bad request"))
    err = info.value
    assert err.attempts == 1 and err.status_code == 400 and not err.retryable
    assert "this request is malformed" in err.message and "judge" in err.message
    assert len(server.chat_requests()) == 1
    [record] = ledger.records()
    assert not record.ok and "malformed" in (record.error or "")
    assert ledger.totals().failed_calls == 1


def test_persistent_5xx_exhausts_retries(server: ScriptedModelServer) -> None:
    with pytest.raises(LLMError) as info:
        LLMClient(fast_settings(server, max_retries=2)).complete("agent", user("server down"))
    assert info.value.attempts == 3 and info.value.retryable and info.value.status_code == 503
    assert len(server.chat_requests()) == 3


def test_timeouts_are_retried_then_reported(server: ScriptedModelServer) -> None:
    client = LLMClient(fast_settings(server, timeout_s=0.2, max_retries=1))
    with pytest.raises(LLMError) as info:
        client.complete("agent", user("slow answer"))
    assert info.value.attempts == 2 and info.value.retryable
    assert "timeout" in info.value.message.lower()


def test_no_rule_matched_is_a_clear_error(server: ScriptedModelServer) -> None:
    with pytest.raises(LLMError) as info:
        LLMClient(fast_settings(server, max_retries=0)).complete("agent", user("nothing fits"))
    assert "no scripted rule matched" in info.value.message
    assert "nothing fits" in info.value.message


def test_refusal_and_truncation_are_reported_not_raised(server: ScriptedModelServer) -> None:
    client = LLMClient(fast_settings(server))
    refused = client.complete("synthesis", user("write malware"))
    assert refused.refusal is not None and "can't help" in refused.refusal
    cut = client.complete("synthesis", user("a long list"))
    assert cut.truncated
    with pytest.raises(ParseError, match="output truncated"):
        extract_json(cut.content)


def test_embeddings_through_litellm_are_similar_for_similar_texts(
    server: ScriptedModelServer,
) -> None:
    ledger = UsageLedger()
    client = LLMClient(fast_settings(server), ledger)
    logs, nginx, temps = client.embed(
        [
            "parse apache access log lines into records",
            "parse nginx access log lines into records",
            "convert a temperature from celsius to fahrenheit",
        ]
    )

    def cos(a: list[float], b: list[float]) -> float:
        return sum(x * y for x, y in zip(a, b, strict=True))

    assert len(logs) == 256 and math.isclose(cos(logs, logs), 1.0, rel_tol=1e-4)
    assert cos(logs, nginx) > 0.5 > cos(logs, temps)
    assert ledger.records()[-1].role == "embedding"
    assert server.requests[-1]["path"] == "/v1/embeddings"


def test_backoff_grows_is_capped_and_jittered() -> None:
    cfg = ModelConfig(model="m", backoff_initial_s=1.0, backoff_max_s=5.0)
    err = RuntimeError("x")
    assert 0.5 <= _backoff_s(cfg, 1, err) <= 1.0
    assert 2.0 <= _backoff_s(cfg, 3, err) <= 4.0
    assert 2.5 <= _backoff_s(cfg, 10, err) <= 5.0

    class Throttled(Exception):
        response = httpx.Response(429, headers={"Retry-After": "4.5"})

    assert _backoff_s(cfg, 1, Throttled()) == 4.5  # the server knows best, within the cap
    too_long = ModelConfig(model="m", backoff_initial_s=1.0, backoff_max_s=2.0)
    assert _backoff_s(too_long, 1, Throttled()) <= 1.0


# --- parsing ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("```python\ndef f():\n    return 1\n```", "def f():\n    return 1"),
        ("Sure! Here:\n\n```py\nx = 1\n```\nHope it helps.", "x = 1"),
        # The longest python block wins over a short usage example.
        ("```python\nf()\n```\n```python\ndef f():\n    pass\n```", "def f():\n    pass"),
        # Python blocks are preferred over other languages.
        ("```bash\npip install x\n```\n```python\nimport x\n```", "import x"),
        ("```\nimport os\n```", "import os"),
        ("def g(x):\n    return x * 2\n", "def g(x):\n    return x * 2"),
        ("Here is the function:\ndef g(x):\n    return x\n", "def g(x):\n    return x"),
        # An unclosed fence whose body parses: the model forgot the closing fence.
        ("```python\ndef f():\n    return 1\n", "def f():\n    return 1"),
    ],
)
def test_extract_code(text: str, expected: str) -> None:
    assert extract_code(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty output"),
        ("Sorry", "no python code"),
        ("I can't help with that.", "no python code"),
        ("```python\ndef f(:\n```", "syntax error"),
        ("```python\ndef f():\n    return [1,\n", "output truncated"),
        ("```bash\nls\n```", "no python code block"),
    ],
)
def test_extract_code_failures(text: str, reason: str) -> None:
    with pytest.raises(ParseError, match=reason):
        extract_code(text)


def test_extract_code_other_language() -> None:
    assert extract_code("```toml\na = 1\n```", language="toml") == "a = 1"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a": 1}', {"a": 1}),
        ("[1, 2]", [1, 2]),
        ("42", 42),
        ('```json\n{"a": [1, 2]}\n```', {"a": [1, 2]}),
        ('Sure, here it is: {"name": "x", "ok": true}. Anything else?', {"name": "x", "ok": True}),
        (
            'The result {"s": "a } tricky { string", "n": [1]} ends here',
            {"s": "a } tricky { string", "n": [1]},
        ),
        ('{"a": 1, "b": [1, 2,],}', {"a": 1, "b": [1, 2]}),
        ("{'a': 'single', 'b': True, 'c': None}", {"a": "single", "b": True, "c": None}),
        ('Note [1]: see below.\n{"x": "it\'s \\"quoted\\""}', {"x": 'it\'s "quoted"'}),
        ('```\n{"fenced": "no tag"}\n```', {"fenced": "no tag"}),
    ],
)
def test_extract_json(text: str, expected: Any) -> None:
    assert extract_json(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty output"),
        ('{"items": [1, 2, 3', "output truncated"),
        ('Here: {"a": "unterminated', "output truncated"),
        ('```json\n{"a": 1,\n "b": ', "output truncated"),
        ("no json here at all", "no JSON found"),
        ("{not: json, at all}", "invalid JSON"),
        ("{1: 'python dict with int keys'}", "invalid JSON"),
    ],
)
def test_extract_json_failures(text: str, reason: str) -> None:
    with pytest.raises(ParseError, match=reason):
        extract_json(text)


@pytest.mark.parametrize(
    "text",
    [
        "I can't help with that.",
        "I cannot assist with creating malware.",
        "I’m sorry, but I can’t comply with this request.",
        "As an AI language model, I cannot write that code.",
        "I must decline this request.",
        "I'm unable to provide that.",
    ],
)
def test_detect_refusal(text: str) -> None:
    reason = detect_refusal(text)
    assert reason is not None and reason.startswith("model refused:")


@pytest.mark.parametrize(
    "text",
    [
        "```python\n# I can't help noticing: this is fine\ndef f():\n    pass\n```",
        "Here is the tool you asked for.\n```python\nx = 1\n```",
        "I'm sorry, but the previous version had a bug; here is the fix.",
        "As an AI assistant, here is the function.",
    ],
)
def test_detect_refusal_ignores_normal_answers(text: str) -> None:
    assert detect_refusal(text) is None


def test_detect_refusal_empty() -> None:
    assert detect_refusal("") == "empty output"
    assert detect_refusal("   \n") == "empty output"
    assert detect_refusal(None) == "empty output"


_TRICKY = st.lists(
    st.sampled_from(
        [
            "```",
            "```python\n",
            "```json\n",
            "~~~",
            "{",
            "}",
            "[",
            "]",
            '"',
            "'",
            ",",
            ":",
            "\n",
            "\\",
            "def f():",
            "    return 1",
            "json",
            "1",
            "true",
            "None",
            "I can't",
            "As an AI",
            " ",
            "\x00",
            "((((",
            "é",
            "'''",
            '"""',
            "#",
        ]
    ),
    max_size=40,
).map("".join)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=300), _TRICKY))
def test_parsers_never_crash(text: str) -> None:
    for parse in (extract_code, extract_json, lambda t: extract_code(t, language="json")):
        try:
            parse(text)
        except ParseError:
            pass
    result = detect_refusal(text)
    assert result is None or isinstance(result, str)


def test_extract_json_never_returns_a_fragment_of_cut_off_output() -> None:
    with pytest.raises(ParseError, match="output truncated"):
        extract_json('{"items": [{"a": 1}, {"b": 2}, {"c":')


def test_cost_is_priced_when_litellm_knows_the_model(server: ScriptedModelServer) -> None:
    # The scripted server answers any model name; naming a priced one exercises litellm's
    # price table offline (the reply still comes from the script, not from OpenAI).
    ledger = UsageLedger()
    settings = fast_settings(server, model="openai/gpt-4o-mini")
    result = LLMClient(settings, ledger).complete("agent", user("echo priced"))
    assert result.model.endswith("gpt-4o-mini")
    assert result.cost_known and result.cost_usd > 0
    assert ledger.totals().cost_known and ledger.totals().cost_usd == result.cost_usd


def test_connection_errors_are_retried_with_a_hint() -> None:
    with ScriptedModelServer({"rules": []}) as srv:
        settings = fast_settings(srv, max_retries=1)
    with pytest.raises(LLMError) as info:  # the server is gone now
        LLMClient(settings).complete("agent", user("anyone there?"))
    assert info.value.attempts == 2 and info.value.retryable
    assert "reachable" in (info.value.hint or "")
