"""Fair inputs for the property attack, from a tool's JSON schema and its tests' calls.

"Fair" is what a reviewer would accept as a bug report: every value is inside the
constraints the tool declares (bounds, enums, patterns, lengths), and magnitudes and sizes
are the ones that find bugs rather than the ones that stress a generator:

- numbers: zero where allowed, the declared bounds and values just inside them, ones,
  halves, "physical" magnitudes (1e-3 .. 1e4 at first, wider at later levels), messy
  mantissas, and JSON integers where a number is expected; never 1e308 (that is a separate
  range-edge stage whose findings are only warnings);
- strings: empty, one character, words, digits, punctuation, whitespace and unicode
  (accents, CJK, emoji, combining marks), at most 12 characters at first; the tests'
  strings and edits of them (prefixes, a character dropped or changed, case, padding), so
  a parser also sees inputs close to valid ones; strings matching a declared pattern;
- lists and dicts: empty, one item, duplicates and ties (equal-length strings), a few
  items at first and more only at later levels.

Levels grow sizes and magnitudes; the attack moves to a level only while its time allows.
Everything is drawn from one seeded `random.Random`, so a run is reproducible. Plain Python
on purpose: hypothesis spent ~1 ms of engine time per example here, more than the tool call
it fed, and the attack's whole budget is a few tens of milliseconds (docs/architecture.md).
"""

from __future__ import annotations

import copy
import json
import math
import random
import re
from dataclasses import dataclass
from typing import Any

from toolforge.safety.regexgen import matching_strings


@dataclass(frozen=True)
class Level:
    """Sizes and magnitudes of one level."""

    index: int
    max_string: int
    max_items: int
    exponents: tuple[float, float]  # log10 range of unconstrained magnitudes
    int_span: int  # unconstrained integers within +- this (mostly much smaller)


LEVELS = (
    Level(0, 12, 4, (-3.0, 4.0), 100),
    Level(1, 40, 12, (-6.0, 9.0), 10_000),
    Level(2, 300, 100, (-9.0, 12.0), 1_000_000),
    Level(3, 2000, 600, (-12.0, 15.0), 10**9),
)
# The range-edge stage: magnitudes near the float limits (findings are warnings only).
EDGE_MAGNITUDES = (1e150, -1e150, 1e300, -1.7e308, 1e-300)

_NICE_NUMBERS = (1, 2, 0.5, 10, 3, 0.1, 100, 2.5, 1000, 0.25, 7, 42, 0.001, 12.5, 9.81,
                 273.15, 1.5, 60, 3.7, 365.25)  # fmt: skip
_NICE_INTS = (1, 2, 3, 5, 10, 7, 12, 100, 4, 0, 60, 16, 1000, 9, 24)
_WORDS = (
    "alpha", "Beta", "x", "hello world", "42", "3.14", "-7", "1e3", "key=value", "a,b;c",
    "naïve", "Straße", "日本語", "😀", "UPPER", "MiXeD", "O'Brien", 'say "hi"', "N/A",
    "null", "true", "0x1F", "2024-01-31", "12:30", "1,234.5", "€12", "İstanbul", "e\u0301",
    "tab\there", "line1\nline2", "  padded ", "_", "..", "(1)", "[x]", "#", "%", "ℕ", "ﬃ",
)  # fmt: skip
_CHARS = ("a", "b", "Z", "0", "9", " ", "-", ".", ",", ":", "/", "_", "é", "ß", "中", "😀",
          "\u200b", "\t", "'", '"', "(", ")", "+", "=")  # fmt: skip
_KEYS = ("a", "b", "key", "x", "total", "Name", "é", "日本", "", "a b", "1", "_", "k2", "z")
_STRING_POOL = ("a", "bb", "cc", "Ab", "b", "abc", "xyz", "x", "é", "a b", "10", "2", "", "Z")


class FairInputs:
    """Inputs for one tool: edge values, random values per level, and one-parameter
    variants (for the check that every parameter changes the result)."""

    def __init__(self, schema: dict[str, Any], *, seed: int = 0,
                 examples: list[dict[str, Any]] | None = None) -> None:
        self.schema = schema
        self.rng = random.Random(seed)
        self.defs: dict[str, Any] = dict(schema.get("$defs", {}))
        self.properties: dict[str, Any] = dict(schema.get("properties", {}))
        self.required = set(schema.get("required", ()))
        self.names = list(self.properties)
        # The tests' calls that fit the schema: the best starting points there are.
        self.examples = [e for e in (examples or []) if self.fits_args(e)]
        self._pattern_cache: dict[str, list[str]] = {}
        # id(schema), parameter -> (the schema, kept alive so the id stays its, edges)
        self._edges: dict[tuple[int, str], tuple[Any, list[Any]]] = {}
        self._seen: dict[str, list[Any]] = {}
        for example in self.examples:
            for name, value in example.items():
                self._seen.setdefault(name, [])
                if value not in self._seen[name]:
                    self._seen[name].append(value)

    # --- whole argument sets ---------------------------------------------------------

    def typical(self) -> dict[str, Any]:
        """A plain, valid call: the first test's arguments, else typical values."""
        if self.examples:
            return copy.deepcopy(self.examples[0])
        return {name: self.typical_value(self.properties[name]) for name in self.names
                if name in self.required or self.rng.random() < 0.5}

    def random_args(self, level: Level) -> dict[str, Any]:
        args: dict[str, Any] = {}
        for name in self.names:
            sub = self.properties[name]
            if name not in self.required and self.rng.random() < 0.25:
                continue  # omitted: the default applies
            args[name] = self.value(sub, level, name)
        return args

    def edge_args(self, base: dict[str, Any], per_param: int = 8) -> list[tuple[str, Any]]:
        """(parameter, edge value) pairs to set one at a time on `base`."""
        out: list[tuple[str, Any]] = []
        for name in self.names:
            values = self.edges(self.properties[name], name)
            out.extend((name, v) for v in values[:per_param])
            if name not in self.required and name in base:
                out.append((name, _OMIT))
        return out

    def variant(self, args: dict[str, Any], name: str, level: Level) -> Any:
        """Another valid value for `name` (or _OMIT), different from args[name]."""
        sub = self.properties[name]
        current = args.get(name, _OMIT)
        for _ in range(8):
            candidate = self._variant_value(sub, current, level, name)
            if candidate is _OMIT and name in self.required:
                continue
            if not _same(candidate, current):
                return candidate
        return current

    def fits_args(self, args: Any) -> bool:
        if not isinstance(args, dict):
            return False
        if not self.required <= set(args):
            return False
        if self.schema.get("additionalProperties") is False and not set(args) <= set(
            self.properties
        ):
            return False
        return all(self.fits(self.properties.get(k, {}), v) for k, v in args.items())

    # --- values ----------------------------------------------------------------------

    def value(self, schema: Any, level: Level, name: str = "") -> Any:
        rng = self.rng
        schema = self._resolve(schema)
        seen = self._seen.get(name)
        if seen and rng.random() < 0.3:
            candidate = self._mutate(schema, rng.choice(seen), level)
            if self.fits(schema, candidate):
                return candidate
        if "const" in schema:
            return copy.deepcopy(schema["const"])
        if "enum" in schema:
            return copy.deepcopy(rng.choice(schema["enum"]))
        options = schema.get("anyOf") or schema.get("oneOf")
        if options:
            nulls = [o for o in options if self._resolve(o).get("type") == "null"]
            others = [o for o in options if o not in nulls]
            if nulls and (not others or rng.random() < 0.2):
                return None
            return self.value(rng.choice(others), level)
        kind = _kind(schema)
        if kind == "number":
            return self._number(schema, level)
        if kind == "integer":
            return self._integer(schema, level)
        if kind == "string":
            return self._string(schema, level)
        if kind == "boolean":
            return rng.random() < 0.5
        if kind == "null":
            return None
        if kind == "array":
            return self._array(schema, level)
        if kind == "object":
            return self._object(schema, level)
        return self._any(level)

    def typical_value(self, schema: Any) -> Any:
        schema = self._resolve(schema)
        if "default" in schema and self.fits(schema, schema["default"]):
            return copy.deepcopy(schema["default"])
        if schema.get("examples"):
            return copy.deepcopy(schema["examples"][0])
        if "const" in schema:
            return schema["const"]
        if "enum" in schema:
            return schema["enum"][0]
        options = schema.get("anyOf") or schema.get("oneOf")
        if options:
            real = [o for o in options if self._resolve(o).get("type") != "null"]
            return self.typical_value(real[0]) if real else None
        kind = _kind(schema)
        if kind in ("number", "integer"):
            for candidate in (2.5 if kind == "number" else 3, 1, 10, 0.5, 100, 0):
                value = int(candidate) if kind == "integer" else candidate
                if self.fits(schema, value):
                    return value
            return self._number(schema, LEVELS[0]) if kind == "number" else self._integer(
                schema, LEVELS[0])
        if kind == "string":
            for text in ("hello world", "abc", "x"):
                if self.fits(schema, text):
                    return text
            return self._string(schema, LEVELS[0])
        if kind == "boolean":
            return True
        if kind == "array":
            items = schema.get("prefixItems")
            if items:
                return [self.typical_value(i) for i in items]
            size = max(schema.get("minItems", 0), min(3, schema.get("maxItems", 3)))
            return [self.value(schema.get("items", {}), LEVELS[0]) for _ in range(size)]
        if kind == "object":
            return {k: self.typical_value(v) for k, v in schema.get("properties", {}).items()
                    } or {"a": self.value(_values_schema(schema), LEVELS[0])}
        return "x"

    def edges(self, schema: Any, name: str = "") -> list[Any]:
        """Boundary values of one schema, most telling first, all inside it."""
        key = (id(schema), name)
        if key not in self._edges:
            self._edges[key] = (schema, self._edges_of(schema, name))
        return copy.deepcopy(self._edges[key][1])

    def _edges_of(self, schema: Any, name: str) -> list[Any]:
        schema = self._resolve(schema)
        out: list[Any] = []
        if "const" in schema:
            return [schema["const"]]
        if "enum" in schema:
            return list(schema["enum"])
        options = schema.get("anyOf") or schema.get("oneOf")
        if options:
            for option in options:
                out.extend(self.edges(option)[:4])
        else:
            kind = _kind(schema)
            if kind == "number":
                out = self._number_edges(schema)
            elif kind == "integer":
                out = self._integer_edges(schema)
            elif kind == "string":
                out = self._string_edges(schema, name)
            elif kind == "boolean":
                out = [True, False]
            elif kind == "null":
                out = [None]
            elif kind == "array":
                out = self._array_edges(schema)
            elif kind == "object":
                out = self._object_edges(schema)
            else:
                out = [None, 0, "", [], {}]
        kept: list[Any] = []
        seen: set[str] = set()
        for value in out:
            text = canonical(value)
            if text not in seen and self.fits(schema, value):
                seen.add(text)
                kept.append(value)
        return kept

    # --- numbers ---------------------------------------------------------------------

    def _bounds(self, schema: dict[str, Any]) -> tuple[float, float, bool, bool]:
        low, high = -math.inf, math.inf
        low_open = high_open = False
        if "minimum" in schema:
            low = schema["minimum"]
        if "exclusiveMinimum" in schema and schema["exclusiveMinimum"] >= low:
            low, low_open = schema["exclusiveMinimum"], True
        if "maximum" in schema:
            high = schema["maximum"]
        if "exclusiveMaximum" in schema and schema["exclusiveMaximum"] <= high:
            high, high_open = schema["exclusiveMaximum"], True
        return low, high, low_open, high_open

    def _number(self, schema: dict[str, Any], level: Level) -> float | int:
        rng = self.rng
        low, high, _, _ = self._bounds(schema)
        roll = rng.random()
        if roll < 0.2:
            value: float = rng.choice(_NICE_NUMBERS) * rng.choice((1, 1, -1))
        elif roll < 0.25:
            value = 0
        elif math.isfinite(low) and math.isfinite(high):
            span = high - low
            if low > 0 and high / low > 1e3:
                value = 10 ** rng.uniform(math.log10(low), math.log10(high))
            else:
                value = low + rng.random() * span
        else:
            lo_exp, hi_exp = level.exponents
            magnitude = 10 ** rng.uniform(lo_exp, hi_exp)
            if math.isfinite(low):
                value = low + magnitude
            elif math.isfinite(high):
                value = high - magnitude
            else:
                value = magnitude * rng.choice((1, -1))
        if roll > 0.9 and abs(value) < 2**53:
            value = round(value)  # JSON numbers arrive as integers too
        elif isinstance(value, float) and rng.random() < 0.3:
            value = round(value, rng.randint(0, 4))
        return self._fix_number(schema, value)

    def _fix_number(self, schema: dict[str, Any], value: float | int) -> float | int:
        low, high, _, _ = self._bounds(schema)
        step = schema.get("multipleOf")
        if step:
            value = round(value / step) * step
            if isinstance(step, int):
                value = int(value)
        if self._in_bounds(schema, value):
            return value
        # Pull it inside: mid-range, or just past the bound.
        if math.isfinite(low) and math.isfinite(high):
            value = (low + high) / 2
        elif math.isfinite(low):
            value = low + max(1.0, abs(low)) * 0.5
        elif math.isfinite(high):
            value = high - max(1.0, abs(high)) * 0.5
        if step:
            value = math.ceil(value / step) * step if math.isfinite(low) else math.floor(
                value / step) * step
        return value

    def _in_bounds(self, schema: dict[str, Any], value: float) -> bool:
        low, high, low_open, high_open = self._bounds(schema)
        if value < low or (low_open and value == low):
            return False
        return not (value > high or (high_open and value == high))

    def _number_edges(self, schema: dict[str, Any]) -> list[Any]:
        low, high, low_open, high_open = self._bounds(schema)
        out: list[Any] = [0, 0.0, 1, -1]
        for bound, is_open, direction in ((low, low_open, 1), (high, high_open, -1)):
            if not math.isfinite(bound):
                continue
            if not is_open:
                out.append(bound)
            nudge = max(abs(bound) * 1e-9, 1e-9)
            out.append(bound + direction * nudge)
            out.append(bound + direction * max(1.0, abs(bound) * 0.01))
        out += [0.5, 1e-3, 1e6, -0.5, 2.5]
        step = schema.get("multipleOf")
        if step:
            out = [round(v / step) * step for v in out]
        return out

    def _integer(self, schema: dict[str, Any], level: Level) -> int:
        rng = self.rng
        low, high, low_open, high_open = self._bounds(schema)
        lo = -math.inf if not math.isfinite(low) else math.floor(low) + 1 if low_open or \
            low != math.floor(low) else int(low)
        hi = math.inf if not math.isfinite(high) else math.ceil(high) - 1 if high_open or \
            high != math.ceil(high) else int(high)
        roll = rng.random()
        if roll < 0.3:
            value = rng.choice(_NICE_INTS) * rng.choice((1, 1, 1, -1))
        else:
            span = level.int_span if rng.random() < 0.3 else min(level.int_span, 100)
            a = int(lo) if math.isfinite(lo) else -span // 10
            b = int(hi) if math.isfinite(hi) else span
            if a > b:
                a, b = b, a
            if math.isfinite(lo) and not math.isfinite(hi):
                b = a + span
            if math.isfinite(hi) and not math.isfinite(lo):
                a = b - span
            value = rng.randint(a, b)
        value = int(min(max(value, lo), hi))
        step = schema.get("multipleOf")
        if step:
            value = int(step * round(value / step))
            if not self._in_bounds(schema, value):
                value = int(step * math.ceil(lo / step)) if math.isfinite(lo) else int(
                    step * math.floor(hi / step))
        return value

    def _integer_edges(self, schema: dict[str, Any]) -> list[Any]:
        low, high, low_open, high_open = self._bounds(schema)
        out: list[Any] = [0, 1, -1, 2]
        if math.isfinite(low):
            first = math.floor(low) + 1 if low_open or low != math.floor(low) else int(low)
            out += [first, first + 1]
        if math.isfinite(high):
            last = math.ceil(high) - 1 if high_open or high != math.ceil(high) else int(high)
            out += [last, last - 1]
        out += [10, 100, -10]
        step = schema.get("multipleOf")
        if step:
            out = [int(step * round(v / step)) for v in out]
        return out

    # --- strings ---------------------------------------------------------------------

    def _pattern_strings(self, pattern: str) -> list[str]:
        if pattern not in self._pattern_cache:
            self._pattern_cache[pattern] = matching_strings(pattern, random.Random(pattern), 24)
        return self._pattern_cache[pattern]

    def _string(self, schema: dict[str, Any], level: Level) -> str:
        rng = self.rng
        pattern = schema.get("pattern")
        if pattern is not None:
            options = self._pattern_strings(pattern)
            return rng.choice(options) if options else ""
        roll = rng.random()
        if roll < 0.35:
            pieces = [rng.choice(_WORDS) for _ in range(rng.randint(1, 3))]
            text = rng.choice((" ", "", ",", " ", "\n")).join(pieces)
        elif roll < 0.7:
            length = rng.randint(0, level.max_string)
            if length <= 24:
                text = "".join(rng.choices(_CHARS, k=length))
            else:  # long: a few random pieces, each repeated (cheap to make)
                parts: list[str] = []
                total = 0
                while total < length:
                    piece = "".join(rng.choices(_CHARS, k=rng.randint(1, 6)))
                    piece = piece if rng.random() < 0.5 else rng.choice(_WORDS)
                    parts.append(piece * rng.randint(1, max(1, length // 24)))
                    total += len(parts[-1])
                text = "".join(parts)[:length]
        elif roll < 0.85:
            word = rng.choice(_WORDS)
            text = word * max(1, rng.randint(1, level.max_string) // max(1, len(word)))
        else:
            text = rng.choice(("", " ", "a", "0", "é", "😀", "\n", "A"))
        return self._fit_length(schema, text[: max(level.max_string, schema.get("minLength", 0))])

    def _fit_length(self, schema: dict[str, Any], text: str) -> str:
        low = schema.get("minLength", 0)
        high = schema.get("maxLength")
        if len(text) < low:
            text = text + "a" * (low - len(text))
        if high is not None and len(text) > high:
            text = text[:high]
        return text

    def _string_edges(self, schema: dict[str, Any], name: str) -> list[Any]:
        pattern = schema.get("pattern")
        if pattern is not None:
            options = self._pattern_strings(pattern)
            return sorted(options, key=len)[:2] + options[:2]
        out: list[Any] = []
        for seen in self._seen.get(name, [])[:1]:
            # A valid input cut short is where parsers break: its prefixes come first.
            if isinstance(seen, str) and seen:
                cuts = range(1, len(seen)) if len(seen) <= 6 else sorted(
                    {1, 2, len(seen) // 4, len(seen) // 2, 3 * len(seen) // 4, len(seen) - 1})
                out += [seen[:k] for k in cuts] + [seen[1:], seen.upper(), f" {seen} "]
        out += ["", " ", "a", "é", "0", "hello world", "😀", "A\u0301b", "\n"]
        low = schema.get("minLength")
        if low:
            out += ["a" * low, "é" * low]
        high = schema.get("maxLength")
        if high is not None:
            out.append("z" * high)
        return out

    # --- collections -----------------------------------------------------------------

    def _array(self, schema: dict[str, Any], level: Level) -> list[Any]:
        rng = self.rng
        prefix = schema.get("prefixItems")
        if prefix:
            return [self.value(item, level) for item in prefix]
        low = schema.get("minItems", 0)
        high = min(schema.get("maxItems", level.max_items), max(level.max_items, low))
        roll = rng.random()
        size = rng.randint(low, min(high, low + 3)) if roll < 0.6 else rng.randint(low, high)
        items_schema = self._resolve(schema.get("items", {}))
        if _kind(items_schema) == "string" and "pattern" not in items_schema and \
                rng.random() < 0.5:
            pool = [s for s in _STRING_POOL if self.fits(items_schema, s)] or ["a"]
            items = [rng.choice(pool) for _ in range(size)]  # duplicates and equal lengths
        else:
            items = [self.value(items_schema, level) for _ in range(size)]
            if size >= 2 and rng.random() < 0.25:
                items[-1] = copy.deepcopy(items[0])  # a duplicate
        if schema.get("uniqueItems"):
            items = _unique(items)
        return items

    def _array_edges(self, schema: dict[str, Any]) -> list[Any]:
        prefix = schema.get("prefixItems")
        if prefix:
            firsts = [self.edges(item) for item in prefix]
            return [[e[0] if e else None for e in firsts], [self.typical_value(i)
                                                             for i in prefix]]
        items = schema.get("items", {})
        one = self.typical_value(items)
        edges = self.edges(items)
        other = next((e for e in edges if not _same(e, one)), one)
        low = schema.get("minItems", 0)
        out = [[], [one], [one, one], [one, other], [other, one], [one, other, one]]
        if low:
            out.append([one] * low)
        if "maxItems" in schema:
            out.append([one] * schema["maxItems"])
        return out

    def _object(self, schema: dict[str, Any], level: Level) -> dict[str, Any]:
        rng = self.rng
        properties: dict[str, Any] = schema.get("properties", {})
        required = set(schema.get("required", ()))
        out = {k: self.value(v, level) for k, v in properties.items()
               if k in required or rng.random() < 0.5}
        extra = _values_schema(schema)
        if extra is not None:
            low = schema.get("minProperties", 0)
            high = min(schema.get("maxProperties", level.max_items), max(level.max_items, low))
            size = rng.randint(low, min(high, low + 3)) if rng.random() < 0.6 else \
                rng.randint(low, high)
            for _ in range(size * 2):
                if len(out) >= size:
                    break
                key = rng.choice(_KEYS) if rng.random() < 0.7 else self._string(
                    {"type": "string"}, level)
                if key not in properties:
                    out[key] = self.value(extra, level)
        return out

    def _object_edges(self, schema: dict[str, Any]) -> list[Any]:
        properties: dict[str, Any] = schema.get("properties", {})
        base = {k: self.typical_value(v) for k, v in properties.items()}
        extra = _values_schema(schema)
        out = [base]
        if extra is not None:
            value = self.typical_value(extra)
            out += [{**base}, {**base, "a": value}, {**base, "a": value, "b": value},
                    {**base, "": value, "é": value}]
            out.insert(0, dict(base))
        return out

    def _any(self, level: Level) -> Any:
        rng = self.rng
        return rng.choice((None, True, 0, 1, -2.5, "", "text", [], [1, "a"], {}, {"k": 1},
                           self._string({"type": "string"}, level)))

    # --- variants and mutations ------------------------------------------------------

    def _variant_value(self, schema: Any, current: Any, level: Level, name: str) -> Any:
        rng = self.rng
        schema = self._resolve(schema)
        roll = rng.random()
        seen = [v for v in self._seen.get(name, []) if not _same(v, current)]
        if seen and roll < 0.3:
            return copy.deepcopy(rng.choice(seen))
        # A value another parameter of the same kind has: catches swapped arguments.
        if roll < 0.45:
            for other in rng.sample(self.names, len(self.names)):
                if other != name:
                    for value in self._seen.get(other, []):
                        if self.fits(schema, value) and not _same(value, current):
                            return copy.deepcopy(value)
        if current is not _OMIT and roll < 0.75:
            mutated = self._mutate(schema, current, level)
            if self.fits(schema, mutated):
                return mutated
        if rng.random() < 0.3:
            edges = self.edges(schema, name)
            if edges:
                return copy.deepcopy(rng.choice(edges))
        return self.value(schema, level, name)

    def _mutate(self, schema: dict[str, Any], value: Any, level: Level) -> Any:
        """A small edit of a valid value: the way real inputs differ from each other."""
        rng = self.rng
        if isinstance(value, bool) or value is None:
            return not value if isinstance(value, bool) else value
        if isinstance(value, int | float):
            choice = rng.randrange(7)
            if choice == 0:
                mutated: Any = value * 2
            elif choice == 1:
                mutated = value / 2 if isinstance(value, float) else value // 2
            elif choice == 2:
                mutated = value + 1
            elif choice == 3:
                mutated = value - 1
            elif choice == 4:
                mutated = -value
            elif choice == 5:
                mutated = value * 10
            else:
                mutated = value + (rng.random() - 0.5) * max(1.0, abs(value))
            if _kind(schema) == "integer":
                mutated = int(mutated)
            return mutated
        if isinstance(value, str):
            return self._mutate_string(value)[: max(level.max_string, len(value))]
        if isinstance(value, list):
            items = copy.deepcopy(value)
            choice = rng.randrange(6)
            if choice == 0 and items:
                del items[rng.randrange(len(items))]
            elif choice == 1 and items:
                items.insert(rng.randrange(len(items) + 1), copy.deepcopy(rng.choice(items)))
            elif choice == 2:
                items.reverse()
            elif choice == 3 and items:
                items[rng.randrange(len(items))] = self.value(schema.get("items", {}), level)
            elif choice == 4:
                rng.shuffle(items)
            else:
                items.append(self.value(schema.get("items", {}), level))
            return items
        if isinstance(value, dict):
            entries = dict(copy.deepcopy(value))
            extra = _values_schema(schema)
            if entries and (rng.random() < 0.5 or extra is None):
                key = rng.choice(list(entries))
                sub = schema.get("properties", {}).get(key, extra or {})
                entries[key] = self._mutate(self._resolve(sub), entries[key], level)
            elif extra is not None:
                entries[rng.choice(_KEYS)] = self.value(extra, level)
            return entries
        return value

    def _mutate_string(self, text: str) -> str:
        rng = self.rng
        choice = rng.randrange(10)
        if not text:
            return rng.choice(("a", " ", "0", "é"))
        i = rng.randrange(len(text))
        if choice == 0:
            return text[:i]  # a prefix: truncated input
        if choice == 1:
            return text[:i] + text[i + 1 :]  # one character dropped
        if choice == 2:
            return text[:i] + rng.choice(_CHARS) + text[i + 1 :]
        if choice == 3:
            return text.swapcase()
        if choice == 4:
            return f" {text} "
        if choice == 5:
            digits = [j for j, c in enumerate(text) if c.isdigit()]
            if digits:
                j = rng.choice(digits)
                return text[:j] + str((int(text[j]) + rng.randint(1, 9)) % 10) + text[j + 1 :]
            return text + "1"
        if choice == 6:
            return text + text[i:]
        if choice == 7:
            return text[i:] + text[:i]
        if choice == 8:
            return text.replace(" ", "  ") if " " in text else text + " " + text
        return text.lower() if text != text.lower() else text.upper()

    # --- schema helpers --------------------------------------------------------------

    def _resolve(self, schema: Any) -> dict[str, Any]:
        if schema is True or not isinstance(schema, dict):
            return {}
        seen = 0
        while "$ref" in schema and seen < 20:
            schema = self.defs.get(schema["$ref"].rsplit("/", 1)[-1], {})
            seen += 1
        if schema.get("allOf") and len(schema) == 1:
            return self._resolve(schema["allOf"][0])
        return schema

    def fits(self, schema: Any, value: Any) -> bool:
        """Whether `value` is valid for `schema` (the common cases fast, the rest jsonschema)."""
        if value is _OMIT:
            return True
        schema = self._resolve(schema)
        if not schema:
            return _is_json(value)
        if "const" in schema:
            return _same(value, schema["const"])
        if "enum" in schema:
            return any(_same(value, v) for v in schema["enum"])
        options = schema.get("anyOf") or schema.get("oneOf")
        if options:
            return any(self.fits(o, value) for o in options)
        kind = schema.get("type")
        if kind == "number":
            return _is_number(value) and math.isfinite(value) and self._in_bounds(
                schema, value) and _multiple(schema, value)
        if kind == "integer":  # a Python int: agents send 3, not 3.0, to an int parameter
            return isinstance(value, int) and not isinstance(value, bool) and self._in_bounds(
                schema, value) and _multiple(schema, value)
        if kind == "string":
            if not isinstance(value, str) or _has_surrogate(value):
                return False
            if not schema.get("minLength", 0) <= len(value) <= schema.get("maxLength", math.inf):
                return False
            pattern = schema.get("pattern")
            return pattern is None or re.search(pattern, value) is not None
        if kind == "boolean":
            return isinstance(value, bool)
        if kind == "null":
            return value is None
        if kind == "array":
            if not isinstance(value, list):
                return False
            if not schema.get("minItems", 0) <= len(value) <= schema.get("maxItems", math.inf):
                return False
            prefix = schema.get("prefixItems")
            if prefix:
                if len(value) > len(prefix) and schema.get("items") is False:
                    return False
                return all(self.fits(s, v) for s, v in zip(prefix, value, strict=False))
            return all(self.fits(schema.get("items", {}), v) for v in value)
        if kind == "object":
            if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
                return False
            if not schema.get("minProperties", 0) <= len(value) <= schema.get(
                    "maxProperties", math.inf):
                return False
            properties = schema.get("properties", {})
            if not set(schema.get("required", ())) <= set(value):
                return False
            extra = _values_schema(schema)
            for key, item in value.items():
                sub = properties.get(key, extra)
                if sub is None or not self.fits(sub, item):
                    return False
            return True
        return _is_json(value)


class _Omit:
    """An optional argument left out (its default applies)."""

    def __repr__(self) -> str:
        return "<omitted>"


_OMIT: Any = _Omit()


def apply(args: dict[str, Any], name: str, value: Any) -> dict[str, Any]:
    """`args` with `name` set to `value` (or removed, for _OMIT)."""
    out = copy.deepcopy(args)
    if value is _OMIT:
        out.pop(name, None)
    else:
        out[name] = copy.deepcopy(value)
    return out


def _kind(schema: dict[str, Any]) -> str | None:
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    if kind is None and "enum" in schema:
        return "enum"
    return kind


def _values_schema(schema: dict[str, Any]) -> Any:
    extra = schema.get("additionalProperties", not schema.get("properties"))
    if extra is False:
        return None
    return {} if extra is True else extra


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _multiple(schema: dict[str, Any], value: float) -> bool:
    step = schema.get("multipleOf")
    if not step:
        return True
    quotient = value / step
    return math.isclose(quotient, round(quotient), rel_tol=1e-9, abs_tol=1e-9)


_SURROGATE = re.compile("[\ud800-\udfff]")


def _has_surrogate(text: str) -> bool:
    # One C-level scan: a per-character loop cost ~1 ms per 10k-character result.
    return not text.isascii() and _SURROGATE.search(text) is not None


def _is_json(value: Any) -> bool:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return False
    return True


def _same(a: Any, b: Any) -> bool:
    """Equal as JSON values, types included (1 and 1.0 and True differ)."""
    if a is _OMIT or b is _OMIT:
        return a is b
    return canonical(a) == canonical(b)


def _unique(items: list[Any]) -> list[Any]:
    seen: set[str] = set()
    out = []
    for item in items:
        key = canonical(item)
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out


# One encoder for every call: json.dumps builds a new one each time it is given options,
# and the attack asks for hundreds of canonical texts per validation.
_CANONICAL = json.JSONEncoder(sort_keys=True, ensure_ascii=False, default=repr)


def canonical(value: Any) -> str:
    """A JSON text that tells values apart exactly (1, 1.0 and true differ; key order
    ignored)."""
    return _CANONICAL.encode(value)


__all__ = ["EDGE_MAGNITUDES", "LEVELS", "FairInputs", "Level", "apply", "canonical"]
