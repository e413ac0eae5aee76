"""Bad input against a real daemon over its real socket (issue 10 item 7): fuzzed JSON
bodies — huge integers, deep nesting, lone surrogates, NaN, wrong field types, unknown
fields — for every route that takes a body, and fuzzed path and query parameters. Every
answer is a status below 500 with the API's JSON error envelope, and the daemon keeps
answering."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from test_daemon_process import daemons, lib, template  # noqa: F401 - fixtures
from toolforge.daemon.client import connect
from toolforge.daemon.runtime import daemon_paths

pytestmark = pytest.mark.timeout(600)

FUZZ = settings(max_examples=120, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])

# Routes with a body, and the fields their models know (wrong types go into known fields).
BODY_ROUTES: dict[str, tuple[str, ...]] = {
    "/v1/tools": ("code", "tests", "name", "origin", "provenance", "meta", "validate",
                  "title", "annotations"),
    "/v1/jobs": ("kind", "tool", "params"),
    "/v1/tools/shout/promote": ("allow_unisolated",),
    "/v1/tools/shout/reject": ("reason",),
    "/v1/tools/shout/rollback": ("to",),
    "/v1/library/rollback": ("rev",),
    "/v1/rollback": ("tool", "to", "library_rev"),
    "/v1/tools/shout/call": ("arguments", "session", "timeout_s", "caller"),
    "/v1/trajectories": ("task", "final_answer", "expected", "reward", "steps", "id"),
}


@pytest.fixture
def http(lib: Path, daemons: Path) -> Iterator[httpx.Client]:  # noqa: F811
    connect(lib).close()  # started
    transport = httpx.HTTPTransport(uds=str(daemon_paths(lib).socket))
    with httpx.Client(transport=transport, base_url="http://toolforge", timeout=120) as c:
        yield c


# --- raw JSON text (json.dumps cannot write what we want to send) ------------------------------

def _string(text: str) -> str:
    return json.dumps(text)  # ensure_ascii: a lone surrogate is sent as its \\ud800 escape


leaf = st.one_of(
    st.integers(-(2**70), 2**70).map(str),
    st.integers(20, 6000).map(lambda n: "9" * n),  # past SQLite's and Python's limits
    st.sampled_from(["NaN", "Infinity", "-Infinity", "1e400", "-1e999", "0.5", "true",
                     "false", "null", '""', '"\\ud800"', '"a\\udfffb"', '"\\u0000"']),
    st.text(max_size=30).map(_string),
    st.integers(1, 3000).map(lambda n: "[" * n + "]" * n),  # nesting, to 3000 deep
    st.integers(1, 1500).map(lambda n: '{"a":' * n + "1" + "}" * n),
)
raw_value = st.recursive(
    leaf,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4).map(lambda xs: "[" + ",".join(xs) + "]"),
        st.dictionaries(st.text(max_size=8).map(_string), inner, max_size=4).map(
            lambda d: "{" + ",".join(f"{k}:{v}" for k, v in d.items()) + "}"),
    ),
    max_leaves=8,
)


@st.composite
def body(draw: st.DrawFn, fields: tuple[str, ...]) -> str:
    chosen = draw(st.lists(st.sampled_from(fields), unique=True, max_size=len(fields)))
    extra = draw(st.lists(st.text(max_size=10), max_size=2))
    keys = [_string(k) for k in chosen] + [_string(k) for k in extra]
    if draw(st.booleans()):
        keys.append('"\\ud800"')
    parts = [f"{k}:{draw(raw_value)}" for k in keys]
    whole = "{" + ",".join(parts) + "}"
    return draw(st.one_of(st.just(whole), raw_value))  # sometimes not even an object


def assert_json_4xx_or_ok(resp: httpx.Response) -> None:
    assert resp.status_code < 500, (resp.status_code, resp.text[:500])
    doc = resp.json()  # always JSON
    if resp.status_code >= 400:
        assert isinstance(doc, dict) and isinstance(doc.get("error"), str), doc
        assert isinstance(doc.get("message"), str) and doc["message"], doc


@pytest.mark.parametrize("route", sorted(BODY_ROUTES))
def test_fuzzed_bodies_get_4xx_json_never_500(http: httpx.Client, route: str) -> None:
    @FUZZ
    @given(text=body(BODY_ROUTES[route]))
    def check(text: str) -> None:
        resp = http.post(route, content=text.encode("utf-8", "surrogatepass"),
                         headers={"content-type": "application/json"})
        assert_json_4xx_or_ok(resp)

    check()
    assert http.get("/v1/health").status_code == 200
    assert http.get("/v1/tools").status_code == 200


def test_bodies_that_are_not_utf8_or_not_json(http: httpx.Client) -> None:
    for content in (b"\xff\xfe{}", b'{"code": "\xed\xa0\x80"}', b"{", b"[]" * 1000,
                    b"\x00", b"[" * 200_000):
        for route in ("/v1/tools", "/v1/jobs", "/v1/trajectories", "/v1/tools/shout/call"):
            assert_json_4xx_or_ok(http.post(route, content=content,
                                            headers={"content-type": "application/json"}))


def test_known_crashers_each_name_the_problem(http: httpx.Client) -> None:
    cases: list[tuple[str, str, str]] = [
        ("/v1/jobs", '{"kind": "validate", "params": {"n": ' + "1" * 5000 + "}}", "64-bit"),
        ("/v1/jobs", '{"kind": "validate", "params": ' + "[" * 900 + "]" * 900 + "}",
         "nested"),
        ("/v1/jobs", '{"kind": "validate", "params": {"code": "\\ud800"}}', "surrogate"),
        ("/v1/tools", '{"code": 5, "tests": []}', "code"),
        ("/v1/rollback", '{"to": ' + "9" * 30 + "}", "64-bit"),
    ]
    for route, text, word in cases:
        resp = http.post(route, content=text, headers={"content-type": "application/json"})
        assert resp.status_code == 422, resp.text
        assert word in resp.json()["message"], resp.json()


@FUZZ
@given(job_id=st.one_of(st.integers(-(10**30), 10**30).map(str),
                        st.integers(19, 400).map(lambda n: "9" * n),
                        st.text(max_size=20).map(lambda t: quote(t, safe="") or "x")))
def test_fuzzed_job_ids_get_4xx_json(http: httpx.Client, job_id: str) -> None:
    for path in (f"/v1/jobs/{job_id}", f"/v1/jobs/{job_id}/log"):
        assert_json_4xx_or_ok(http.get(path))
    assert_json_4xx_or_ok(http.post(f"/v1/jobs/{job_id}/cancel"))


@FUZZ
@given(value=st.one_of(st.text(max_size=30), st.integers(19, 400).map(lambda n: "9" * n),
                       st.sampled_from(["nan", "inf", "-1", "1e400", "%ED%A0%80"])))
def test_fuzzed_query_and_path_parameters_get_4xx_json(http: httpx.Client, value: str
                                                       ) -> None:
    params: dict[str, Any] = {"limit": value}
    for path in ("/v1/jobs", "/v1/history", "/v1/trajectories", "/v1/evolution"):
        assert_json_4xx_or_ok(http.get(path, params=params))
    assert_json_4xx_or_ok(http.get("/v1/usage", params={"since": value, "tool": value}))
    assert_json_4xx_or_ok(http.get("/v1/tools", params={"status": value}))
    assert_json_4xx_or_ok(http.get("/v1/export", params={"format": value}))
    segment = quote(value, safe="") or "x"
    for path in (f"/v1/tools/{segment}", f"/v1/tools/{segment}/diff",
                 f"/v1/tools/{segment}/report", f"/v1/trajectories/{segment}"):
        assert_json_4xx_or_ok(http.get(path))


def test_a_huge_last_event_id_is_a_4xx(http: httpx.Client) -> None:
    for value in ("9" * 30, "-1", "x"):
        assert_json_4xx_or_ok(http.get("/v1/events", headers={"Last-Event-ID": value}))
