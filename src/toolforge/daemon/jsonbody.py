"""The one reader of JSON request bodies: what the API accepts, checked before any model.

`json.loads` takes things no route can use and that fail later, far from the request, as a
500: integers past Python's digit limit (ValueError) or past SQLite's 64 bits
(OverflowError), nesting deep enough to exhaust the stack wherever the value is walked
(RecursionError), lone surrogates (`"\\ud800"`, which no UTF-8 writer accepts), NaN and
infinities. Every route with a body model reads its body here first (`SafeRoute`), so each
of them is a 422 `invalid_request` naming where the bad value is.
"""

from __future__ import annotations

import json
import math
from typing import Any

from toolforge.daemon.errors import InvalidRequestError

MAX_DEPTH = 64  # far beyond any body of the API; far below the interpreter's stack
INT_MIN, INT_MAX = -(2**63), 2**63 - 1
_MAX_INT_DIGITS = 20  # checked before int() converts (quadratic in the digits)
HINT = "request bodies are UTF-8 JSON: 64-bit integers, finite numbers, nesting up to " \
       f"{MAX_DEPTH} levels, valid Unicode text"


def _int(text: str) -> int:
    if len(text.lstrip("-")) > _MAX_INT_DIGITS or not INT_MIN <= int(text) <= INT_MAX:
        raise _Bad(f"integer {_clip(text)} is out of the 64-bit range")
    return int(text)


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Bad(f"number {_clip(text)} is out of range")
    return value


def _constant(text: str) -> Any:
    raise _Bad(f"{text} is not JSON")


class _Bad(ValueError):
    pass


def parse_body(data: bytes) -> Any:
    """The body as JSON data, or InvalidRequestError saying what is wrong and where."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _invalid(f"the body is not UTF-8 (byte {exc.start})")
    try:
        value = json.loads(text, parse_int=_int, parse_float=_float, parse_constant=_constant)
    except _Bad as exc:
        raise _invalid(str(exc))
    except RecursionError:
        raise _invalid(f"the body is nested more than {MAX_DEPTH} levels deep")
    except json.JSONDecodeError as exc:
        raise _invalid(f"malformed JSON body: {exc.msg} (line {exc.lineno} column {exc.colno})")
    except ValueError as exc:  # anything else json refuses
        raise _invalid(f"malformed JSON body: {exc}")
    _check(value)
    return value


def _check(root: Any) -> None:
    """Depth and text, walked without recursion."""
    todo: list[tuple[Any, str, int]] = [(root, "$", 0)]
    while todo:
        value, where, depth = todo.pop()
        if isinstance(value, str):
            _text(value, where)
        elif isinstance(value, dict | list):
            if depth >= MAX_DEPTH:
                raise _invalid(f"the body is nested more than {MAX_DEPTH} levels deep")
            if isinstance(value, dict):
                for key, item in value.items():
                    _text(key, f"{where} key")
                    todo.append((item, f"{where}.{_clip(key, 40)}", depth + 1))
            else:
                todo.extend((item, f"{where}[{i}]", depth + 1) for i, item in enumerate(value))


def _text(value: str, where: str) -> None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise _invalid(f"{where} holds a lone surrogate (\\u{ord(value[exc.start]):04x} at "
                       f"offset {exc.start}): not valid Unicode text")


def _clip(text: str, n: int = 30) -> str:
    text = text.encode("utf-8", "backslashreplace").decode("ascii", "backslashreplace")
    return text if len(text) <= n else f"{text[:n]}... ({len(text)} characters)"


def _invalid(message: str) -> InvalidRequestError:
    return InvalidRequestError(message, hint=HINT)
