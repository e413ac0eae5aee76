"""Rewards: how well an agent's final answer matches what a task expected, in [0, 1].

Checks are data (pydantic models discriminated by ``kind``) so a task file can name them;
the one exception is :class:`CallableCheck`, a Python function given through the API.
:func:`score` never raises on an answer, whatever it is: an agent's output is untrusted
text, and a crash while scoring must not lose the trajectory.

A regex check is user-supplied code in effect: `(a+)+$` against a long answer backtracks
for ages, and the stdlib's `re` holds the GIL and cannot be interrupted. Regex checks run
on the `regex` engine with a timeout (it releases the GIL while matching): a check that
runs out of time is a failed check (0.0), logged, never a hang.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import select
import signal
import time
from collections.abc import Callable
from typing import Annotated, Any, Literal

import regex  # type: ignore[import-untyped]
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from toolforge.errors import ToolforgeError

log = logging.getLogger(__name__)

DEFAULT_REWARD_THRESHOLD = 0.5
REGEX_TIMEOUT_S = 1.0  # a task's regex against one answer: generous for any sane pattern
# Longer answers are a failed check, unscored: every check's work grows with the answer
# (JSON extraction scans it), and no task expects a megabyte back.
MAX_ANSWER_CHARS = 1_000_000
PYTHON_CHECK_TIMEOUT_S = 10.0  # a `python` check runs in a fork, killed after this
KINDS = ("exact", "number", "set", "regex", "json", "python")


class ExpectationError(ToolforgeError):
    """An expectation (check) is malformed."""

    http_status = 422
    kind = "expectation"


class _Check(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ExactCheck(_Check):
    """The whole answer equals ``value`` (case-insensitive and stripped by default)."""

    kind: Literal["exact"] = "exact"
    value: str
    case_sensitive: bool = False
    strip: bool = True


class NumberCheck(_Check):
    """The LAST number in the answer is close to ``value`` (see :func:`extract_number`)."""

    kind: Literal["number"] = "number"
    value: float = Field(allow_inf_nan=False)
    abs_tol: float = Field(default=1e-6, ge=0)
    rel_tol: float = Field(default=1e-6, ge=0)


class SetCheck(_Check):
    """The answer, as a set of items, against ``value``: Jaccard similarity (partial credit)."""

    kind: Literal["set"] = "set"
    value: list[str]
    case_sensitive: bool = False

    @field_validator("value", mode="before")
    @classmethod
    def _items_as_text(cls, v: Any) -> Any:
        # Task files write sets of numbers as [1, 2]; compare them as the text an agent prints.
        if isinstance(v, list):
            return [x if isinstance(x, str) else json.dumps(x) for x in v]
        return v


class RegexCheck(_Check):
    """``pattern`` is found in the answer (``re.search``; ``fullmatch`` for the whole of it).

    ``flags`` are letters: i (ignore case), m (multiline), s (dot matches newline), x (verbose).
    """

    kind: Literal["regex"] = "regex"
    pattern: str
    flags: str = ""
    fullmatch: bool = False

    @model_validator(mode="after")
    def _compiles(self) -> RegexCheck:
        self.compiled()  # a bad pattern is an error in the task file, not a 0 reward later
        return self

    def compiled(self) -> Any:
        """The pattern compiled by the `regex` engine (match it with a timeout)."""
        value = 0
        for letter in self.flags.lower():
            if letter not in _REGEX_FLAGS:
                raise ValueError(f"unknown regex flag {letter!r} (use i, m, s, x)")
            value |= _REGEX_FLAGS[letter]
        try:
            return regex.compile(self.pattern, value)
        except (regex.error, RecursionError, OverflowError) as exc:
            raise ValueError(f"invalid regex {self.pattern!r}: {exc}") from None


_REGEX_FLAGS = {"i": regex.IGNORECASE, "m": regex.MULTILINE, "s": regex.DOTALL,
                "x": regex.VERBOSE}


class JsonCheck(_Check):
    """The JSON value in the answer equals ``value``: objects by keys, lists in order,
    numbers within tolerance (1 == 1.0; true is not 1)."""

    kind: Literal["json"] = "json"
    value: Any
    abs_tol: float = Field(default=1e-6, ge=0)
    rel_tol: float = Field(default=1e-6, ge=0)


class CallableCheck(_Check):
    """A Python function ``fn(answer) -> bool | float``; API only, never from a task file.
    It runs in a fork of the process, killed after ``PYTHON_CHECK_TIMEOUT_S`` (see
    :func:`run_bounded`): it can read anything, and change nothing, in the caller.

    It serialises as ``{"kind": "python", "name": ...}`` for the record; the function itself
    is not stored. A function that raises scores 0.0 (and is logged).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    kind: Literal["python"] = "python"
    fn: Callable[[str | None], Any] = Field(exclude=True)
    name: str = ""

    @model_validator(mode="before")
    @classmethod
    def _name(cls, data: Any) -> Any:
        if isinstance(data, dict) and not data.get("name") and "fn" in data:
            fn = data["fn"]
            data = {**data, "name": getattr(fn, "__qualname__", None) or repr(fn)}
        return data


Expectation = Annotated[
    ExactCheck | NumberCheck | SetCheck | RegexCheck | JsonCheck | CallableCheck,
    Field(discriminator="kind"),
]
# What a task file or a report may name: everything but `python`.
SerializableExpectation = Annotated[
    ExactCheck | NumberCheck | SetCheck | RegexCheck | JsonCheck,
    Field(discriminator="kind"),
]
_SERIALIZABLE: TypeAdapter[Any] = TypeAdapter(SerializableExpectation)
_CHECK_TYPES = (ExactCheck, NumberCheck, SetCheck, RegexCheck, JsonCheck, CallableCheck)


def coerce_expectation(raw: Any) -> Expectation | None:
    """A check from task-file data.

    A bare string means ``exact``, a bare number ``number``, a bare list/object/bool ``json``;
    an object with a ``kind`` key is that check. To expect a JSON object that itself has a
    ``kind`` key, wrap it: ``{"kind": "json", "value": {...}}``. ``None`` means no check.
    Raises :class:`ExpectationError`.
    """
    if raw is None or isinstance(raw, _CHECK_TYPES):
        return raw
    if isinstance(raw, bool):
        return JsonCheck(value=raw)
    if isinstance(raw, str):
        return ExactCheck(value=raw)
    if isinstance(raw, int | float):
        if not math.isfinite(raw):
            raise ExpectationError(f"expected number {raw!r} is not finite")
        return NumberCheck(value=float(raw))
    if isinstance(raw, dict) and "kind" in raw:
        kind = raw["kind"]
        if kind == "python":
            raise ExpectationError(
                "a `python` check cannot come from data",
                hint="pass a CallableCheck (or a function) through the Python API",
            )
        if kind not in KINDS:
            raise ExpectationError(
                f"unknown check kind {kind!r}",
                hint=f"use one of {', '.join(KINDS[:-1])}; to expect a JSON object with a "
                '"kind" key, write {"kind": "json", "value": {...}}',
            )
        try:
            return _SERIALIZABLE.validate_python(raw)
        except ValidationError as exc:
            raise ExpectationError(f"invalid {kind} check: {_first_error(exc)}") from None
    if isinstance(raw, list | dict):
        return JsonCheck(value=raw)
    if callable(raw):
        return CallableCheck(fn=raw)
    raise ExpectationError(f"cannot use {type(raw).__name__} as an expected value")


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"] if p not in KINDS)
    msg = str(err["msg"]).removeprefix("Value error, ")
    return f"{loc}: {msg}" if loc else msg


def is_failure(reward: float, threshold: float = DEFAULT_REWARD_THRESHOLD) -> bool:
    """A run failed when its reward is below the threshold."""
    return reward < threshold


def score(answer: Any, expectation: Any) -> float:
    """The reward of ``answer`` under ``expectation`` (a check, or raw task-file data).

    Always a float in [0, 1]; ``None``, empty or garbage answers score 0.0 and never raise,
    and so do answers over ``MAX_ANSWER_CHARS`` and regex checks that run out of time.
    A malformed *expectation* does raise (:class:`ExpectationError`): that is a bug in the
    task, not in the answer.
    """
    check = coerce_expectation(expectation)
    if check is None:
        raise ExpectationError("nothing to score against (expected is None)")
    if answer is None:
        return 0.0
    if not isinstance(answer, str):
        # Agents in other languages may hand back a number or a list; score its JSON text.
        try:
            answer = json.dumps(answer)
        except (TypeError, ValueError):
            answer = str(answer)
    if len(answer) > MAX_ANSWER_CHARS:
        log.warning("an answer of %d characters is over the %d scored: a failed check",
                    len(answer), MAX_ANSWER_CHARS)
        return 0.0
    try:
        value = float(_SCORERS[type(check)](answer, check))
    except (RecursionError, MemoryError, ValueError, TypeError, OverflowError):
        return 0.0
    if math.isnan(value):
        return 0.0
    return min(1.0, max(0.0, value))


# --- the checks -----------------------------------------------------------------------------


def _exact(answer: str, check: ExactCheck) -> float:
    got, want = answer, check.value
    if check.strip:
        got, want = got.strip(), want.strip()
    if not check.case_sensitive:
        got, want = got.casefold(), want.casefold()
    return 1.0 if got == want else 0.0


# A number not glued to a word or to a previous number's decimals ("v2", "1.2.3" -> 1.2);
# a sign only where it cannot be a hyphen ("10-20" -> 20, "x = -3" -> -3). Thousands groups
# need exactly three digits ("1,234.5"); "1,5" is two numbers, as in a list.
# Scientific notation as people write it is an exponent too: "6.022 × 10^23", "2 x 10**5",
# "1.6·10⁻¹⁹" (science answers, docs/tte.md).
_SUPERSCRIPT = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺", "0123456789-+")
_NUMBER = re.compile(
    r"(?<![\w.])(?P<sign>[-+\u2212])?"
    r"(?P<num>(?:\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?:\.\d+)?|\.\d+)"
    r"(?:(?P<exp>[eE][-+]?\d+)"
    r"|\s?[×xX*·⋅]\s?10(?:(?:\^|\*\*)\(?(?P<pow>[-+\u2212]?\d+)\)?"
    r"|(?P<sup>[⁻⁺]?[⁰¹²³⁴⁵⁶⁷⁸⁹]+))(?![\w.]))?"
    r"(?P<pct>\s?%)?"
)
_MAX_NUMBER_SCAN = 100_000  # characters from the end: bound the work on huge answers


def extract_number(text: str) -> tuple[float, bool] | None:
    """The last number in ``text`` and whether a ``%`` followed it; None if there is none."""
    last = None
    for last in _NUMBER.finditer(text[-_MAX_NUMBER_SCAN:]):  # noqa: B007 - we want the last
        pass
    if last is None:
        return None
    sign = "-" if last.group("sign") in ("-", "\u2212") else ""
    power = last.group("pow") or (last.group("sup") or "").translate(_SUPERSCRIPT)
    exponent = last.group("exp") or (f"e{power.replace(chr(0x2212), '-')}" if power else "")
    raw = sign + last.group("num").replace(",", "") + exponent
    return float(raw), last.group("pct") is not None


def _number(answer: str, check: NumberCheck) -> float:
    found = extract_number(answer)
    if found is None:
        return 0.0
    value, percent = found
    # "42%" matches 42 and 0.42: both readings of a percentage are common in tasks.
    candidates = (value, value / 100) if percent else (value,)
    return 1.0 if any(
        math.isclose(v, check.value, rel_tol=check.rel_tol, abs_tol=check.abs_tol)
        for v in candidates
    ) else 0.0


_SPLIT = re.compile(r"[,;\n]")
_BULLET = re.compile(r"^(?:[-*\u2022]\s+|\d+[.)]\s+)")
_QUOTES = "\"'`"


def _set_items(answer: str, case_sensitive: bool) -> set[str]:
    items: list[str] | None = None
    if "[" in answer:
        from toolforge.llm.parsing import ParseError, extract_json

        try:
            parsed = extract_json(answer)
        except ParseError:
            parsed = None
        if isinstance(parsed, list):
            items = [x if isinstance(x, str) else json.dumps(x) for x in parsed]
    if items is None:
        items = _SPLIT.split(answer)
    return {_norm_item(x, case_sensitive) for x in items} - {""}


def _norm_item(item: str, case_sensitive: bool) -> str:
    item = _BULLET.sub("", item.strip()).strip().strip(_QUOTES).strip()
    return item if case_sensitive else item.casefold()


def _set(answer: str, check: SetCheck) -> float:
    got = _set_items(answer, check.case_sensitive)
    want = {_norm_item(x, check.case_sensitive) for x in check.value} - {""}
    if not got and not want:
        return 1.0
    return len(got & want) / len(got | want)


def _regex(answer: str, check: RegexCheck) -> float:
    pattern = check.compiled()
    try:
        if check.fullmatch:
            found = pattern.fullmatch(answer.strip(), timeout=REGEX_TIMEOUT_S)
        else:
            found = pattern.search(answer, timeout=REGEX_TIMEOUT_S)
    except TimeoutError:
        log.warning("regex check %r ran out of time (%g s) on a %d-character answer: "
                    "scored as failed", check.pattern[:80], REGEX_TIMEOUT_S, len(answer))
        return 0.0
    return 1.0 if found else 0.0


def _json(answer: str, check: JsonCheck) -> float:
    from toolforge.llm.parsing import ParseError, extract_json

    try:
        got = extract_json(answer)
    except ParseError:
        # extract_json only takes bare scalars that are valid JSON; "Paris" is a string too.
        if not isinstance(check.value, str):
            return 0.0
        got = answer.strip()
    return 1.0 if _json_equal(got, check.value, check) else 0.0


def _json_equal(a: Any, b: Any, check: JsonCheck, depth: int = 0) -> bool:
    if depth > 200:
        return False
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return math.isclose(a, b, rel_tol=check.rel_tol, abs_tol=check.abs_tol)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(
            _json_equal(a[k], b[k], check, depth + 1) for k in a
        )
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(
            _json_equal(x, y, check, depth + 1) for x, y in zip(a, b, strict=True)
        )
    return type(a) is type(b) and a == b


def _python(answer: str, check: CallableCheck) -> float:
    outcome = run_bounded(check.fn, answer, PYTHON_CHECK_TIMEOUT_S)
    if isinstance(outcome, _Problem):
        log.warning("check %s %s; scoring 0.0", check.name, outcome.text)
        return 0.0
    return outcome


class _Problem:
    def __init__(self, text: str) -> None:
        self.text = text


def run_bounded(fn: Callable[[str], Any], answer: str, timeout_s: float) -> float | _Problem:
    """`fn(answer)` as a reward, in a fork of this process that is killed after `timeout_s`
    (a thread could not be stopped). The check sees everything this process has and changes
    nothing in it. Where there is no fork, it runs here, unbounded."""
    if not hasattr(os, "fork"):
        try:
            return _as_reward(_outcome(fn, answer))
        except Exception as exc:  # pragma: no cover - platforms without fork
            return _Problem(f"raised {type(exc).__name__}: {exc}")
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: run the check, send its outcome, exit without cleaning up
        try:
            os.close(read_fd)
            data = json.dumps(_outcome(fn, answer)).encode()
            while data:
                data = data[os.write(write_fd, data):]
        finally:
            os._exit(0)
    os.close(write_fd)
    try:
        raw = _read_until(read_fd, time.monotonic() + timeout_s)
    finally:
        os.close(read_fd)
        if raw is None:
            os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    if raw is None:
        return _Problem(f"ran out of time ({timeout_s:g} s)")
    try:
        return _as_reward(json.loads(raw))
    except ValueError:
        return _Problem("died before it answered")


def _outcome(fn: Callable[[str], Any], answer: str) -> dict[str, Any]:
    try:
        value = fn(answer)
    except BaseException as exc:  # the child reports everything, even SystemExit
        return {"error": f"raised {type(exc).__name__}: {exc}"[:500]}
    if isinstance(value, bool):
        return {"reward": 1.0 if value else 0.0}
    if isinstance(value, int | float):
        try:
            return {"reward": float(value)}
        except OverflowError:
            return {"error": "returned an integer too large for a reward"}
    return {"error": f"returned {type(value).__name__}, not a bool or number"}


def _as_reward(doc: dict[str, Any]) -> float | _Problem:
    if "reward" in doc:
        return float(doc["reward"])
    return _Problem(str(doc.get("error", "failed")))


def _read_until(fd: int, deadline: float) -> bytes | None:
    """Everything written to `fd` until its writer closes it; None at the deadline."""
    chunks: list[bytes] = []
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            return None
        chunk = os.read(fd, 65536)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


_SCORERS: dict[type, Callable[[str, Any], float]] = {
    ExactCheck: _exact,
    NumberCheck: _number,
    SetCheck: _set,
    RegexCheck: _regex,
    JsonCheck: _json,
    CallableCheck: _python,
}


def dump_expectation(expected: Any) -> Any:
    """JSON data for the record: checks as their dict (a python check by name), raw as is."""
    if isinstance(expected, BaseModel):
        return expected.model_dump(mode="json")
    return expected
