"""Assertion values and their judgement: one implementation, run on both sides of the pipe.

The test runner (inside the sandbox, test code in the same process) evaluates the operands
of each assertion and `encode`s them as tagged JSON: exact builtin and a few standard-library
value types only (never an object's own `__eq__`, `items()` or `__bool__`). The parent, out
of the test code's reach, `decode`s them into fresh values of its own and `walk`s the
assertion's shape, which it compiled itself, to decide whether the assertion held. The
runner walks the same shape with the same code only to know where `and`/`or` stop, so that
it evaluates exactly the operands Python would; what it concludes is never trusted.

Stdlib only, no imports beyond `binascii`, `math` and `sys`: this file is imported inside
every sandbox (as `judge`) and by the parent (as `toolforge.sandbox.guest.judge`).
"""

from __future__ import annotations

import binascii
import math
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

MAX_DEPTH = 100
_BIG_INT = 1 << 62  # larger ints travel as hex: decimal conversion of huge ints is limited

# Value types of standard-library modules that round-trip exactly: module -> {name: tag}.
_STDLIB_VALUES = {
    "decimal": {"Decimal": "decimal"},
    "fractions": {"Fraction": "fraction"},
    "datetime": {"datetime": "datetime", "date": "date", "time": "time",
                 "timedelta": "timedelta"},
    "collections": {"Counter": "Counter", "OrderedDict": "OrderedDict",
                    "defaultdict": "defaultdict", "deque": "deque"},
}
_SEQUENCE_TAGS = {tuple: "tuple", set: "set", frozenset: "frozenset"}


class JudgeError(Exception):
    """The assertion cannot be decided (its values cannot be compared or are malformed)."""


# --- values --------------------------------------------------------------------------------


class Approx:
    """`pytest.approx`: a number (or list/tuple/dict of numbers) with a tolerance.

    Read-only once made: a test must not loosen the tolerance of an `approx` it compares
    with. The comparison that counts is the parent's, on a copy decoded from the runner's
    report.
    """

    __slots__ = ("abs", "expected", "nan_ok", "rel")

    def __init__(self, expected: Any, rel: Any = None, abs: Any = None,
                 nan_ok: bool = False) -> None:
        for name, value in (("rel", rel), ("abs", abs)):
            if value is not None and (type(value) not in (int, float) or value < 0
                                      or value != value):
                raise TypeError(f"approx: {name} must be a non-negative number")
        if type(nan_ok) is not bool:
            raise TypeError("approx: nan_ok must be True or False")
        for name, value in (("expected", expected), ("rel", rel), ("abs", abs),
                            ("nan_ok", nan_ok)):
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("approx objects are read-only")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("approx objects are read-only")

    def _close(self, actual: Any, expected: Any, depth: int = 0) -> bool:
        if depth > MAX_DEPTH:
            raise JudgeError("approx: values nested too deeply")
        if type(expected) in (list, tuple):
            return (type(actual) in (list, tuple) and len(actual) == len(expected)
                    and all(self._close(a, e, depth + 1)
                            for a, e in zip(actual, expected, strict=True)))
        if type(expected) is dict:
            return (type(actual) is dict and actual.keys() == expected.keys()
                    and all(self._close(actual[k], expected[k], depth + 1) for k in expected))
        numbers = (int, float)
        if (type(expected) is bool or type(actual) is bool or type(expected) not in numbers
                or type(actual) not in numbers):
            return bool(actual == expected)
        if actual == expected:
            return True
        if expected != expected:
            return self.nan_ok and actual != actual
        if expected in (math.inf, -math.inf):
            return False
        tolerance = 1e-12 if self.abs is None else self.abs
        if not (self.rel is None and self.abs is not None):
            rel = 1e-6 if self.rel is None else self.rel
            tolerance = max(tolerance, rel * abs_value(expected))
        return abs_value(actual - expected) <= tolerance

    def __eq__(self, actual: object) -> bool:
        return self._close(actual, self.expected)

    def __ne__(self, actual: object) -> bool:
        return not self.__eq__(actual)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        tolerance = "".join(f", {k}={getattr(self, k)!r}" for k in ("rel", "abs")
                            if getattr(self, k) is not None)
        return f"approx({self.expected!r}{tolerance})"


def abs_value(number: Any) -> Any:
    return number if number >= 0 else -number


class ClassRef:
    """A class as the parent sees it: its qualified name, interned (so `is` works)."""

    __slots__ = ("name",)
    _known: dict[str, ClassRef] = {}  # noqa: RUF012 - the intern table

    def __init__(self, name: str) -> None:
        self.name = name

    @classmethod
    def of(cls, name: str) -> ClassRef:
        ref = cls._known.get(name)
        if ref is None:
            if len(cls._known) > 10_000:
                cls._known.clear()
            ref = cls._known[name] = cls(name)
        return ref

    def __repr__(self) -> str:
        return f"<class {self.name}>"


class Opaque:
    """A value that is not plain data (a function, a match object, an exception...): equal
    to nothing but itself, and without a truth value the parent could trust."""

    __slots__ = ("type_name",)

    def __init__(self, type_name: str) -> None:
        self.type_name = type_name

    def __repr__(self) -> str:
        return f"<{self.type_name} object>"


# --- encoding (in the runner) ----------------------------------------------------------------


class _Budget:
    def __init__(self, limit: int) -> None:
        self.left = limit

    def spend(self, amount: int) -> None:
        self.left -= amount
        if self.left < 0:
            raise JudgeError("the values are too large to check")


def encode(value: Any, *, limit: int = 1 << 20,
           class_name: Callable[[type], str | None] | None = None) -> Any:
    """`value` as tagged JSON; an {"error": ...} object when it cannot be sent."""
    try:
        return _encode(value, 0, _Budget(limit), class_name)
    except JudgeError as exc:
        return {"error": str(exc)}
    except RecursionError:
        return {"error": "the value is nested too deeply to check"}


def _encode(value: Any, depth: int, budget: _Budget,
            class_name: Callable[[type], str | None] | None) -> Any:
    kind = type(value)
    budget.spend(8)
    if value is None or kind is bool:
        return value
    if kind is int:
        if -_BIG_INT < value < _BIG_INT:
            return value
        text = hex(value)
        budget.spend(len(text))
        return {"int": text}
    if kind is float:
        if value != value or value in (math.inf, -math.inf):
            return {"float": repr(value)}
        return value
    if kind is str:
        budget.spend(len(value))
        return value
    if depth >= MAX_DEPTH:
        raise JudgeError(f"the value is nested deeper than {MAX_DEPTH} levels")
    inner = depth + 1
    if kind is list:
        return [_encode(v, inner, budget, class_name) for v in value]
    if kind is dict:
        return {"dict": [[_encode(k, inner, budget, class_name),
                          _encode(v, inner, budget, class_name)] for k, v in value.items()]}
    tag = _SEQUENCE_TAGS.get(kind)
    if tag is not None:
        return {tag: [_encode(v, inner, budget, class_name) for v in value]}
    if kind in (bytes, bytearray):
        budget.spend(len(value) * 4 // 3)
        text = binascii.b2a_base64(bytes(value), newline=False).decode("ascii")
        return {"bytes" if kind is bytes else "bytearray": text}
    if kind is complex:
        return {"complex": [_encode(value.real, inner, budget, class_name),
                            _encode(value.imag, inner, budget, class_name)]}
    if kind is range:
        return {"range": [value.start, value.stop, value.step]}
    if kind is Approx:
        return {"approx": [_encode(value.expected, inner, budget, class_name),
                           _encode(value.rel, inner, budget, class_name),
                           _encode(value.abs, inner, budget, class_name), value.nan_ok]}
    if isinstance(value, type):
        return {"class": _class_name(value, class_name)}
    tag = _stdlib_tag(kind)
    if tag is not None:
        return _encode_stdlib(tag, value, inner, budget, class_name)
    return {"opaque": _qualified(kind)}


def _stdlib_tag(kind: type) -> str | None:
    names = _STDLIB_VALUES.get(getattr(kind, "__module__", ""))
    if not names:
        return None
    tag = names.get(getattr(kind, "__qualname__", ""))
    module = sys.modules.get(kind.__module__)
    # the very class of that module, not a look-alike of the same name
    return tag if tag and getattr(module, kind.__qualname__, None) is kind else None


def _encode_stdlib(tag: str, value: Any, depth: int, budget: _Budget,
                   class_name: Callable[[type], str | None] | None) -> Any:
    if tag == "decimal":
        text = str(value)
        budget.spend(len(text))
        return {tag: text}
    if tag == "fraction":
        return {tag: [_encode(value.numerator, depth, budget, class_name),
                      _encode(value.denominator, depth, budget, class_name)]}
    if tag in ("datetime", "date", "time"):
        return {tag: value.isoformat()}
    if tag == "timedelta":
        return {tag: [value.days, value.seconds, value.microseconds]}
    if tag == "deque":
        return {tag: [_encode(v, depth, budget, class_name) for v in value]}
    return {tag: [[_encode(k, depth, budget, class_name), _encode(v, depth, budget, class_name)]
                  for k, v in value.items()]}


def _class_name(cls: type, class_name: Callable[[type], str | None] | None) -> str:
    if class_name is not None:
        known = class_name(cls)
        if known is not None:
            return known
    module = sys.modules.get(getattr(cls, "__module__", ""))
    target: Any = module
    for part in str(getattr(cls, "__qualname__", "")).split("."):
        target = getattr(target, part, None)
    if target is cls:  # reachable by its name: the name identifies it
        return _qualified(cls)
    return f"<unnamed class {_qualified(cls)} at {id(cls):#x}>"


def _qualified(kind: type) -> str:
    module = getattr(kind, "__module__", "?")
    name = getattr(kind, "__qualname__", getattr(kind, "__name__", "?"))
    return str(name) if module == "builtins" else f"{module}.{name}"


# --- decoding (in the parent, and in the runner for its own copy) ---------------------------


def decode(data: Any, depth: int = 0) -> Any:
    """Fresh values from tagged JSON; JudgeError when it is malformed."""
    if depth > MAX_DEPTH + 2:
        raise JudgeError("malformed value: nested too deeply")
    kind = type(data)
    if data is None or kind in (bool, int, float, str):
        return data
    if kind is list:
        return [decode(v, depth + 1) for v in data]
    if kind is not dict or len(data) != 1:
        raise JudgeError("malformed value")
    ((tag, body),) = data.items()
    try:
        return _decode_tagged(tag, body, depth + 1)
    except JudgeError:
        raise
    except (TypeError, ValueError, OverflowError, binascii.Error, KeyError) as exc:
        raise JudgeError(f"malformed {tag} value: {type(exc).__name__}") from None


def _items(body: Any, depth: int) -> list[Any]:
    if type(body) is not list:
        raise JudgeError("malformed value")
    return [decode(v, depth) for v in body]


def _pairs(body: Any, depth: int) -> list[tuple[Any, Any]]:
    if type(body) is not list or not all(type(p) is list and len(p) == 2 for p in body):
        raise JudgeError("malformed mapping")
    return [(decode(k, depth), decode(v, depth)) for k, v in body]


def _decode_tagged(tag: str, body: Any, depth: int) -> Any:
    if tag == "dict":
        return dict(_pairs(body, depth))
    if tag == "tuple":
        return tuple(_items(body, depth))
    if tag == "set":
        return set(_items(body, depth))
    if tag == "frozenset":
        return frozenset(_items(body, depth))
    if tag == "int":
        return int(_text(body), 16)
    if tag == "float":
        text = _text(body)
        if text not in ("nan", "inf", "-inf"):
            raise JudgeError("malformed float")
        return float(text)
    if tag in ("bytes", "bytearray"):
        raw = binascii.a2b_base64(_text(body).encode("ascii"))
        return raw if tag == "bytes" else bytearray(raw)
    if tag == "complex":
        real, imag = _items(body, depth)
        return complex(_number(real), _number(imag))
    if tag == "range":
        start, stop, step = _items(body, depth)
        return range(_integer(start), _integer(stop), _integer(step))
    if tag == "approx":
        expected, rel, absolute, nan_ok = _items(body, depth)
        return Approx(expected, rel, absolute, nan_ok)
    if tag == "class":
        return ClassRef.of(_text(body))
    if tag == "opaque":
        return Opaque(_text(body))
    if tag == "error":
        raise JudgeError(_text(body)[:500])
    return _decode_stdlib(tag, body, depth)


def _decode_stdlib(tag: str, body: Any, depth: int) -> Any:
    if tag == "decimal":
        import decimal

        return decimal.Decimal(_text(body))
    if tag == "fraction":
        import fractions

        numerator, denominator = _items(body, depth)
        return fractions.Fraction(_integer(numerator), _integer(denominator))
    if tag in ("datetime", "date", "time", "timedelta"):
        import datetime

        if tag == "timedelta":
            days, seconds, microseconds = _items(body, depth)
            return datetime.timedelta(_integer(days), _integer(seconds), _integer(microseconds))
        return getattr(datetime, tag).fromisoformat(_text(body))
    if tag in ("Counter", "OrderedDict", "defaultdict", "deque"):
        import collections

        if tag == "deque":
            return collections.deque(_items(body, depth))
        pairs = dict(_pairs(body, depth))
        return pairs if tag == "defaultdict" else getattr(collections, tag)(pairs)
    raise JudgeError(f"malformed value: unknown tag {tag[:40]!r}")


def _text(body: Any) -> str:
    if type(body) is not str or len(body) > 1 << 20:
        raise JudgeError("malformed value")
    return body


def _integer(value: Any) -> int:
    if type(value) is not int:
        raise JudgeError("malformed value")
    return value


def _number(value: Any) -> float:
    if type(value) not in (int, float):
        raise JudgeError("malformed value")
    return value


# --- judging ---------------------------------------------------------------------------------

# Shapes, compiled by the parent from each `assert` (sandbox/testfile.py):
#   ["leaf"]                  one value, judged by its truth
#   ["cmp", [op, ...]]        len(ops) + 1 values, every one evaluated, compared in turn
#   ["not", shape]            ["and", [shape, ...]]      ["or", [shape, ...]]
#   ["isclose", [kw, ...]]    math.isclose(a, b, kw=...): 2 + len(kws) values
_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "==": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
    "in": lambda a, b: a in b, "not in": lambda a, b: a not in b,
}
_SINGLETONS = (type(None), bool, ClassRef)


class Leaves:
    """Where `walk` gets its values: the parent reads the runner's report (`next`)."""

    def __init__(self, encoded: list[Any]) -> None:
        self.encoded = encoded
        self.used = 0
        self.values: list[Any] = []

    def next(self) -> Any:
        if self.used >= len(self.encoded):
            raise JudgeError("malformed report: fewer values than the assertion reads")
        value = decode(self.encoded[self.used])
        self.used += 1
        self.values.append(value)
        return value

    def finish(self) -> None:
        if self.used != len(self.encoded):
            raise JudgeError("malformed report: more values than the assertion reads")


def truth(value: Any) -> bool:
    if isinstance(value, Opaque):
        raise JudgeError(f"the truth of {value!r} cannot be checked: assert on plain values "
                         "(e.g. `x is not None`, `len(x) > 0`)")
    if isinstance(value, Approx):
        raise JudgeError("approx(...) has no truth value: compare it with ==")
    try:
        return bool(value)
    except Exception as exc:  # pragma: no cover - decoded values are builtins
        raise JudgeError(f"{type(exc).__name__}: {exc}") from None


def compare(op: str, left: Any, right: Any) -> bool:
    if op in ("is", "is not"):
        if not (isinstance(left, _SINGLETONS) or isinstance(right, _SINGLETONS)):
            raise JudgeError(f"`{op}` compares identity, which values sent for checking do "
                             "not keep: use == (or `is` only with None, True, False)")
        same = left is right
        return same if op == "is" else not same
    function = _COMPARE.get(op)
    if function is None:
        raise JudgeError(f"unknown operator {op!r}")
    try:
        return truth(function(left, right))
    except JudgeError:
        raise
    except Exception as exc:  # TypeError: '<' not supported between ...; RecursionError
        raise JudgeError(f"{type(exc).__name__}: {str(exc)[:300]}") from None


def walk(shape: Any, leaves: Any) -> Any:
    """The value of an assertion's expression, reading operands from `leaves`."""
    kind = shape[0]
    if kind == "leaf":
        return leaves.next()
    if kind == "cmp":
        ops = shape[1]
        values = [leaves.next() for _ in range(len(ops) + 1)]
        return all(compare(op, values[i], values[i + 1]) for i, op in enumerate(ops))
    if kind == "not":
        return not truth(walk(shape[1], leaves))
    if kind in ("and", "or"):
        value: Any = None
        for part in shape[1]:
            value = walk(part, leaves)
            if truth(value) is (kind == "or"):
                return value
        return value
    if kind == "isclose":
        a, b = leaves.next(), leaves.next()
        options = {name: leaves.next() for name in shape[1]}
        try:
            return math.isclose(a, b, **options)
        except (TypeError, ValueError) as exc:
            raise JudgeError(f"math.isclose: {exc}") from None
    raise JudgeError(f"unknown assertion shape {kind!r}")


def judge(shape: Any, encoded: list[Any]) -> tuple[bool, list[Any], str]:
    """(held, the values read, why it could not be decided or "")."""
    leaves = Leaves(encoded if type(encoded) is list else [])
    try:
        held = truth(walk(shape, leaves))
        leaves.finish()
    except JudgeError as exc:
        return False, leaves.values, str(exc)
    except RecursionError:
        return False, leaves.values, "the values are nested too deeply to compare"
    except Exception as exc:  # whatever a malformed report provokes, it is not a pass
        return False, leaves.values, f"{type(exc).__name__}: {str(exc)[:200]}"
    return held, leaves.values, ""


def short_repr(value: Any, limit: int = 300) -> str:
    try:
        text = repr(value)
    except Exception as exc:  # pragma: no cover - decoded values are builtins
        text = f"<unprintable {type(value).__name__}: {type(exc).__name__}>"
    except RecursionError:  # pragma: no cover
        text = "<too deep to print>"
    return text if len(text) <= limit else text[: limit - 3] + "..."
