"""Defensive parsing of model output: code, JSON and refusals.

Model output is untrusted text. Every function here either returns a value or raises
:class:`ParseError` with a short reason that can be shown as "why this candidate failed";
nothing else escapes, whatever the input (a hypothesis test feeds arbitrary text).
"""

from __future__ import annotations

import ast
import json
import re
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from toolforge import pyast
from toolforge.errors import ToolforgeError

_PYTHON_TAGS = frozenset({"python", "py", "python3", "py3"})
# Opening fence: ``` or ~~~ (3+), an optional info string, then the body.
_FENCE_OPEN = re.compile(r"^[ \t]*(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^\n`]*)$", re.MULTILINE)
_CODE_START = re.compile(r"^(?:@|def |async def |class |import |from \S+ import |#)", re.MULTILINE)
_MAX_JSON_STARTS = 32  # bound the work on long prose full of brackets
_REFUSAL_WINDOW = 400


class ParseError(ToolforgeError):
    """Model output could not be turned into what was asked for; ``message`` says why."""

    http_status = 422
    kind = "parse"


# Model output is full of things like "\d" in strings; the compiler's warnings about them
# are noise for our callers (and errors under -W error). catch_warnings swaps global state,
# hence the lock.
_WARNINGS_LOCK = threading.Lock()


@contextmanager
def _quiet() -> Iterator[None]:
    with _WARNINGS_LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


# --- code ---------------------------------------------------------------------------------


class _Block:
    __slots__ = ("body", "closed", "lang")

    def __init__(self, lang: str, body: str, closed: bool) -> None:
        self.lang, self.body, self.closed = lang, body, closed


def _fenced_blocks(text: str) -> list[_Block]:
    """Fenced blocks in order; the last one may be unclosed (truncated output)."""
    blocks: list[_Block] = []
    pos = 0
    while (m := _FENCE_OPEN.search(text, pos)) is not None:
        fence = m.group("fence")
        lang = (m.group("info").strip().split() or [""])[0].lower()
        body_start = m.end() + 1
        close = re.compile(rf"^[ \t]*{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$", re.MULTILINE)
        end = close.search(text, body_start)
        if end is None:
            blocks.append(_Block(lang, text[body_start:], closed=False))
            break
        blocks.append(_Block(lang, text[body_start : end.start()], closed=True))
        pos = end.end()
    return blocks


def _python_error(code: str) -> str | None:
    """None if ``code`` parses as Python, else a one-line reason."""
    try:
        with _quiet():
            pyast.parse(code)
    except SyntaxError as exc:
        return f"syntax error at line {exc.lineno}: {exc.msg}"
    except (ValueError, RecursionError, MemoryError, OverflowError) as exc:
        return f"not parseable as Python: {type(exc).__name__}"
    return None


def _looks_like_code(code: str) -> bool:
    """Reject prose that happens to parse ("Sorry", "OK."): need a real statement."""
    try:
        with _quiet():
            tree = pyast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError):
        return False
    return any(
        not isinstance(node, ast.Expr) or isinstance(node.value, ast.Call) for node in tree.body
    )


def extract_code(text: str | None, *, language: str = "python") -> str:
    """The code in a model reply.

    Prefers fenced blocks tagged with ``language`` (for Python: python/py/python3), then
    untagged fences; among those the longest one that parses wins (first on a tie). Without
    fences, the whole reply (or the reply from its first ``def``/``import``/... line) is
    accepted when it parses as Python. Raises :class:`ParseError` otherwise.
    """
    if text is None or not text.strip():
        raise ParseError("empty output")
    language = language.lower()
    tags = _PYTHON_TAGS if language in _PYTHON_TAGS else frozenset({language})
    is_python = language in _PYTHON_TAGS
    blocks = _fenced_blocks(text)
    tagged = [b for b in blocks if b.lang in tags]
    candidates = tagged or [b for b in blocks if b.lang == ""]
    if candidates:
        return _best_block(candidates, is_python, language)
    if blocks:
        langs = ", ".join(sorted({b.lang for b in blocks}))
        raise ParseError(f"no {language} code block found (only: {langs})")
    if not is_python:
        raise ParseError(f"no {language} code block found")
    return _unfenced_python(text)


def _best_block(candidates: list[_Block], is_python: bool, language: str) -> str:
    ordered = sorted(candidates, key=lambda b: -len(b.body.strip()))  # stable: first on ties
    if not is_python:
        best = ordered[0]
        if not best.closed:
            raise ParseError(f"output truncated: {language} code block is not closed")
        if not best.body.strip():
            raise ParseError(f"the {language} code block is empty")
        return best.body.strip("\n")
    first_problem = ""
    for block in ordered:
        body = block.body.strip("\n")
        if not body.strip():
            first_problem = first_problem or "the code block is empty"
            continue
        problem = _python_error(body)
        if problem is None:
            # An unclosed fence whose body still parses: the model just forgot the fence.
            return body
        if not block.closed:
            problem = f"output truncated: code block is not closed ({problem})"
        first_problem = first_problem or problem
    raise ParseError(first_problem)


def _unfenced_python(text: str) -> str:
    stripped = text.strip("\n")
    if _python_error(stripped) is None and _looks_like_code(stripped):
        return stripped
    # Prose before the code ("Here is the function:"): start at the first code-looking line,
    # then drop trailing prose lines (bounded, so long garbage stays cheap).
    start = _CODE_START.search(stripped)
    if start is not None:
        lines = stripped[start.start() :].splitlines()
        for cut in range(len(lines), max(len(lines) - 20, 0), -1):
            code = "\n".join(lines[:cut]).rstrip()
            if code and _python_error(code) is None and _looks_like_code(code):
                return code
    raise ParseError("no python code found (no code block, and the reply is not Python)")


# --- JSON ---------------------------------------------------------------------------------


def extract_json(text: str | None) -> Any:
    """The JSON value in a model reply.

    Accepts raw JSON, a fenced block (```json first), or a balanced object/array embedded in
    prose (brackets inside strings are skipped; the longest one that parses wins). Repairs
    trailing commas and Python-literal style (single quotes, True/False/None) since models
    emit both often; the result is always plain JSON data. Output that stops inside a value
    raises ``ParseError("output truncated ...")``.
    """
    if text is None or not text.strip():
        raise ParseError("empty output")
    stripped = text.strip()
    value = _loads_lenient(stripped)
    if value is not _FAIL:
        return value

    blocks = _fenced_blocks(stripped)
    ordered = [b for b in blocks if b.lang == "json"] + [b for b in blocks if b.lang != "json"]
    for block in ordered:
        value = _loads_lenient(block.body.strip())
        if value is not _FAIL:
            return value
        if block.lang == "json" and not block.closed:
            raise ParseError("output truncated: JSON code block is not closed")

    # Scan every top-level balanced candidate and keep the longest that parses: prose often
    # holds small bracketed bits ("see [1]") before the real payload.
    truncated = False
    starts = 0
    pos = 0
    best: tuple[int, Any] | None = None
    while starts < _MAX_JSON_STARTS:
        start = _next_open(stripped, pos)
        if start < 0:
            break
        starts += 1
        end = _balanced_end(stripped, start)
        if end < 0:
            # It runs to the end of the text: the output was cut off. Anything later lies
            # inside it, and an inner fragment of a cut-off list is not the answer.
            truncated = True
            break
        value = _loads_lenient(stripped[start:end])
        if value is _FAIL:
            pos = start + 1
            continue
        if best is None or end - start > best[0]:
            best = (end - start, value)
        pos = end
    if best is not None:
        return best[1]  # a complete value before the cut-off part
    if truncated:
        raise ParseError("output truncated: JSON ends before its closing bracket")
    if starts:
        raise ParseError("invalid JSON: no parseable object or array found")
    raise ParseError("no JSON found in output")


_FAIL = object()
_TRAILING_COMMA = re.compile(r",\s*([\]}])")


def _loads_lenient(candidate: str) -> Any:
    """Parsed value, or ``_FAIL``; never raises."""
    if not candidate:
        return _FAIL
    try:
        return json.loads(candidate)
    except (ValueError, RecursionError, MemoryError, OverflowError):
        pass
    if candidate[0] not in "[{":
        return _FAIL  # repairs only for containers: "yes" must not become JSON
    repaired = _strip_trailing_commas(candidate)
    if repaired != candidate:
        try:
            return json.loads(repaired)
        except (ValueError, RecursionError, MemoryError, OverflowError):
            pass
    try:
        with _quiet():
            value = pyast.literal_eval(repaired)
    except (ValueError, TypeError, SyntaxError, RecursionError, MemoryError, OverflowError):
        return _FAIL
    return value if _is_json_data(value) else _FAIL


def _strip_trailing_commas(text: str) -> str:
    """Remove ``,`` before ``]``/``}`` outside strings."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in "\"'":
            j = _string_end(text, i)
            if j < 0:
                out.append(text[i:])
                break
            out.append(text[i:j])
            i = j
            continue
        if ch == ",":
            m = _TRAILING_COMMA.match(text, i)
            if m is not None:
                i = m.start(1)
                continue
        out.append(ch)
        i += 1
    return "".join(out)


def _is_json_data(value: Any, depth: int = 0) -> bool:
    if depth > 200:
        return False
    if value is None or isinstance(value, bool | int | float | str):
        return True
    if isinstance(value, list):
        return all(_is_json_data(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_json_data(v, depth + 1) for k, v in value.items())
    return False


def _next_open(text: str, pos: int) -> int:
    brace, bracket = text.find("{", pos), text.find("[", pos)
    if brace < 0:
        return bracket
    if bracket < 0:
        return brace
    return min(brace, bracket)


def _string_end(text: str, start: int) -> int:
    """Index just past the string literal opening at ``start``; -1 if it never closes.

    A single quote that reaches a newline is taken as an apostrophe, not a string: the
    index of that newline is returned so scanning goes on.
    """
    quote = text[start]
    i = start + 1
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == "\\":
            i += 2
            continue
        if ch == quote:
            return i + 1
        if quote == "'" and ch == "\n":
            return i
        i += 1
    return -1


def _balanced_end(text: str, start: int) -> int:
    """Index just past the bracket closing the one at ``start``; -1 if it never closes."""
    stack: list[str] = []
    pairs = {"{": "}", "[": "]"}
    i, n = start, len(text)
    while i < n:
        ch = text[i]
        if ch in "\"'":
            end = _string_end(text, i)
            if end < 0:
                return -1  # unterminated string: truncated
            i = end
            continue
        if ch in pairs:
            stack.append(pairs[ch])
        elif ch in "}]":
            if not stack or stack[-1] != ch:
                return i + 1  # mismatched: let the JSON parser report it
            stack.pop()
            if not stack:
                return i + 1
        i += 1
    return -1


# --- refusals -----------------------------------------------------------------------------

_NEGATION = r"(?:can(?:'|no)?t|can not|unable|not able|won't|will not|must decline)"
_REFUSAL_PATTERNS = re.compile(
    r"\b(?:"
    r"i\s*(?:can(?:'|no)?t|can not|won't|will not|am unable to|'m unable to|am not able to"
    r"|'m not able to|must decline to)\s+(?:help|assist|comply|provide|do|write|create"
    r"|fulfil|fulfill|complete|generate|support|answer)"
    r"|i must (?:respectfully )?decline"
    r"|unable to comply"
    # These openers are also used politely before real answers: only with a negation.
    rf"|i(?:'m| am) sorry,? but[^.\n]{{0,80}}?\b{_NEGATION}"
    rf"|i apologi[sz]e,? but[^.\n]{{0,80}}?\b{_NEGATION}"
    rf"|as an ai\b[^.\n]{{0,80}}?\b{_NEGATION}"
    rf"|as a (?:large )?language model[^.\n]{{0,80}}?\b{_NEGATION}"
    r"|(?:this|that) (?:request )?(?:violates|goes against) (?:my|the|our) "
    r"(?:guidelines|policy|policies|usage policies)"
    r")",
)


def detect_refusal(text: str | None) -> str | None:
    """A short reason if ``text`` is a refusal or empty, else None.

    Only the prose before the first code fence (and within the first few hundred
    characters) is examined, so code that mentions "I can't" later is not a refusal.
    """
    if text is None or not text.strip():
        return "empty output"
    head = text.lstrip()
    fence = head.find("```")
    if fence == 0:
        return None
    if fence > 0:
        head = head[:fence]
    head = head[:_REFUSAL_WINDOW]
    normalized = head.replace("\u2019", "'").replace("\u2018", "'").lower()
    m = _REFUSAL_PATTERNS.search(normalized)
    if m is None:
        return None
    # Quote the sentence that carries the refusal, as the candidate's failure reason.
    sentence_start = max(head.rfind(sep, 0, m.start()) for sep in (". ", "! ", "? ", "\n")) + 1
    sentence_end_candidates = [
        i for i in (head.find(sep, m.end()) for sep in (". ", "! ", "? ", "\n")) if i >= 0
    ]
    sentence_end = min(sentence_end_candidates, default=len(head)) + 1
    sentence = " ".join(head[sentence_start:sentence_end].split())[:160]
    return f"model refused: {sentence}"
