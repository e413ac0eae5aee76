"""What a docstring promises, read as an oracle for the property attack.

A `Raises:` entry such as "ValueError: when the area is not positive." says two things a
reviewer can check without knowing any answer:

- on an input where the condition holds (area = 0, area = -1.5) the tool raises that
  exception: answering, or failing another way (ZeroDivisionError), breaks the promise
  (`witnesses`);
- when every condition listed for the exception was understood, a refusal with it where none
  holds (area = 0.5 refused as "not positive"; two values refused "for fewer than two
  values") refuses input the docstring accepts (`counter_witnesses`, just inside the
  boundary, and pairs of the attack's inputs that differ in one parameter).

Only simple conditions are read, joined by "or": "the <parameter> is not positive |
negative | zero | empty | below absolute zero", "there are no <parameter>", "fewer than
<n> <parameter>", "a/one/any <item of a list or mapping parameter> is not positive", "the
<list parameter> sum(s) to zero", "the <parameter> is greater | larger | heavier | more ...
than the <parameter>" (and less ...), "<parameter> > <parameter>". The subject must name one
parameter without doubt: its name, its name's words, singular or plural, or words of its
`Args:` description ("the input energy" for `total_input: energy in`), or "the list" /
"the text" when only one parameter is one. Anything else leaves the entry unread (no check),
so a docstring the reader does not understand never costs a correct tool anything.

`Returns:` ranges ("0-12", "each 0-255", "at least 1") are read by `return_range`.
"""

from __future__ import annotations

import ast
import copy
import math
import re
from dataclasses import dataclass
from typing import Any, Literal

from toolforge import pyast
from toolforge.tools.contract import ToolSpec

Kind = Literal["at_most", "below", "equal", "empty", "fewer_than", "sums_to_zero",
               "greater_than", "less_than"]


@dataclass(frozen=True)
class RaiseCondition:
    exception: str  # the documented class, as written ("ValueError")
    param: str
    kind: Kind
    each: bool = False  # said of one item of a list (or one value of a mapping)
    text: str = ""  # the docstring's words for it
    bound: float = 0.0  # at_most, below, equal: the number; fewer_than: the count
    other: str = ""  # greater_than, less_than: the parameter compared with

    def holds(self, args: dict[str, Any]) -> bool:
        """Whether the condition is true of `args` (False when it cannot be told)."""
        if self.param not in args:
            return False
        value = args[self.param]
        if self.kind in ("empty", "fewer_than"):
            size = self.bound if self.kind == "fewer_than" else 1
            return isinstance(value, str | list | dict) and len(value) < size
        if self.kind == "sums_to_zero":
            return isinstance(value, list) and _numbers(value) and sum(value) == 0
        if self.kind in ("greater_than", "less_than"):
            other = args.get(self.other)
            if not (_number(value) and _number(other)):
                return False
            return value > other if self.kind == "greater_than" else value < other
        items: list[Any] = [value]
        if self.each:
            items = list(value.values()) if isinstance(value, dict) else (
                value if isinstance(value, list) else [])
        test = {"at_most": lambda v: v <= self.bound, "below": lambda v: v < self.bound,
                "equal": lambda v: v == self.bound}[self.kind]
        return any(_number(v) and test(v) for v in items)

    def witnesses(self, base: dict[str, Any], integer: bool) -> list[dict[str, Any]]:
        """Inputs like `base` on which the condition holds."""
        current = base.get(self.param)
        if self.kind == "empty":
            empty = {"str": "", "list": [], "dict": {}}.get(type(current).__name__)
            return [] if empty is None else [{**base, self.param: empty}]
        if self.kind == "fewer_than":
            sized = [self._sized(base, n) for n in range(int(self.bound))]
            return [args for args in sized if args is not None][-2:]
        if self.kind == "sums_to_zero":
            if not isinstance(current, list) or len(current) < 2:
                return []
            zeroed = [1, -1] + [0] * (len(current) - 2)
            return [{**base, self.param: zeroed if integer else [float(v) for v in zeroed]}]
        if self.kind in ("greater_than", "less_than"):
            other = base.get(self.other)
            if not isinstance(other, int | float) or isinstance(other, bool):
                return []
            step = max(1, abs(other))
            moved = other + step if self.kind == "greater_than" else other - step
            return [{**base, self.param: int(moved) if integer else float(moved)}]
        bad = {"at_most": (self.bound, self.bound - 1.5), "below": (self.bound - 0.5,),
               "equal": (self.bound,)}[self.kind]
        return [args for args in (self._set(base, v, integer) for v in bad) if args]

    def counter_witnesses(self, base: dict[str, Any],
                          integer: bool) -> list[dict[str, Any]]:
        """Inputs like `base` just on the other side of the boundary: the condition does
        not hold (whether another does is the caller's to check)."""
        if self.kind in ("empty", "fewer_than"):
            sized = self._sized(base, int(self.bound) if self.kind == "fewer_than" else 1)
            return [] if sized is None else [sized]
        if self.kind in ("greater_than", "less_than"):
            other = base.get(self.other)
            return [{**base, self.param: other}] if _number(other) else []
        if self.kind == "at_most":
            args = self._set(base, self.bound + (1 if integer else 0.5), integer, up=True)
        elif self.kind == "below":
            args = self._set(base, self.bound, integer, up=True)
        else:
            return []
        return [args] if args else []

    def _set(self, base: dict[str, Any], number: float, integer: bool,
             up: bool = False) -> dict[str, Any] | None:
        """`base` with the parameter (or its first item) at `number`; an integer parameter
        gets the integer below it (a witness stays inside the condition) or, with `up`,
        above it (a counter-witness stays outside)."""
        if integer and number != int(number):
            number = float(math.ceil(number) if up else math.floor(number))
        value: Any = int(number) if integer else float(number)
        current = base.get(self.param)
        if self.each:
            if isinstance(current, list) and current:
                value = [value, *copy.deepcopy(current[1:])]
            elif isinstance(current, dict) and current:
                value = {**copy.deepcopy(current), next(iter(current)): value}
            else:
                return None
        return {**base, self.param: value}

    def _sized(self, base: dict[str, Any], n: int) -> dict[str, Any] | None:
        """`base` with the parameter cut or grown (repeating its items) to n items."""
        current = base.get(self.param)
        if not isinstance(current, list | str) or not current:
            return None
        grown = current * (n // len(current) + 1)
        return {**base, self.param: copy.deepcopy(grown[:n])}


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _numbers(values: list[Any]) -> bool:
    return all(map(_number, values))


_NOT_POSITIVE = (r"not positive|non-positive|zero or negative|negative or zero|"
                 r"not greater than zero|at most zero")
_MORE = (r"greater|larger|bigger|higher|heavier|longer|more \w+|above|over|after|later|"
         r"more")
_LESS = r"less|smaller|lower|lighter|shorter|less \w+|below|under|before|earlier|fewer"
_COUNTS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6}
# Absolute zero in the unit a parameter's name or description gives.
_ABSOLUTE_ZERO = ((r"kelvin|\bk\b", 0.0), (r"rankine", 0.0), (r"celsius|°c", -273.15),
                  (r"fahrenheit|°f", -459.67))
_ARTICLE = re.compile(r"^(?:the|a|an|any|one|some|each)\s+")
_ITEM_WORDS = ("a ", "an ", "any ", "one ", "some ", "each ")
_PRONOUNS = ("one", "any", "some", "one of them", "any of them")


def raise_conditions(spec: ToolSpec) -> tuple[list[RaiseCondition], set[str]]:
    """The conditions read from `Raises:`, and the exceptions all of whose conditions were
    read (a refusal with one of those is checked against them)."""
    found: list[RaiseCondition] = []
    complete: set[str] = set()
    for exception, text in spec.raises.items():
        clauses = _clauses(text)
        read = [_condition(spec, exception, clause, clauses[:i])
                for i, clause in enumerate(clauses)]
        found += [c for c in read if c is not None]
        if clauses and all(c is not None for c in read):
            complete.add(exception.rsplit(".", 1)[-1])
    return found, complete


def _clauses(text: str) -> list[str]:
    text = text.strip().rstrip(".").lower()
    text = re.sub(r"^(?:raised\s+)?(?:when|if|whenever|for)\s+", "", text)
    return [c.strip() for c in re.split(r",?\s+or\s+|,\s*", text) if c.strip()]


def _condition(spec: ToolSpec, exception: str, clause: str,
               before: list[str]) -> RaiseCondition | None:
    def made(subject: str, kind: Kind, **fields: Any) -> RaiseCondition | None:
        each = subject.startswith(_ITEM_WORDS) and kind in ("at_most", "below", "equal")
        if subject in _PRONOUNS and before:
            # "no values or one is not positive": the subject of the clause before
            previous = re.fullmatch(r"there (?:are|is) no (.+)", before[-1])
            param = _param(spec, previous.group(1)) if previous else None
            each = True
        else:
            param = _param(spec, subject)
        if param is None:
            return None
        container = _container(spec, param)
        if kind in ("at_most", "below", "equal"):
            # "a temperature" of a number is the number; "the values" of a list, any item
            each = container is not None
        elif not _fits_kind(spec, param, kind, fields.get("other")):
            return None
        return RaiseCondition(exception, param, kind, each, clause, **fields)

    match = re.fullmatch(r"there (?:are|is) no (.+)", clause)
    if match:
        return made(match.group(1), "empty")
    match = re.fullmatch(r"(?:there (?:are|is) )?(?:fewer|less) than (\w+) (.+)", clause)
    if match:
        count = _COUNTS.get(match.group(1)) or (int(match.group(1)) if match.group(
            1).isdigit() else None)
        return None if not count else made(match.group(2), "fewer_than", bound=float(count))
    match = re.fullmatch(r"(\w+) (>=|<=|>|<) (\w+)", clause)
    if match:
        left, op, right = match.groups()
        names = {p.name.lower(): p.name for p in spec.params}
        if left in names and right in names and op in (">", "<"):
            return made(left, "greater_than" if op == ">" else "less_than",
                        other=names[right])
        return None
    match = re.fullmatch(rf"(.+?) (?:is|are) (?:{_MORE}) than (.+)", clause)
    if match:
        return made(match.group(1), "greater_than", other=_param(spec, match.group(2)))
    match = re.fullmatch(rf"(.+?) (?:is|are) (?:{_LESS}) than (.+)", clause)
    if match:
        return made(match.group(1), "less_than", other=_param(spec, match.group(2)))
    match = re.fullmatch(r"(.+?) (?:(?:is|are) )?below absolute zero", clause)
    if match:
        param = _param(spec, match.group(1))
        zero = _absolute_zero(spec, param) if param else None
        return None if zero is None else made(match.group(1), "below", bound=zero)
    for pattern, kind, bound in (
            (_NOT_POSITIVE, "at_most", 0.0),
            (r"negative|below zero|less than zero", "below", 0.0),
            (r"zero", "equal", 0.0), (r"empty", "empty", 0.0)):
        match = re.fullmatch(rf"(.+?) (?:is|are) (?:{pattern})", clause)
        if match:
            return made(match.group(1), kind, bound=bound)  # type: ignore[arg-type]
    match = re.fullmatch(r"(.+?) sums? to zero", clause)
    if match:
        param = _param(spec, match.group(1))
        if param is None or _container(spec, param) != "array":
            return None
        return RaiseCondition(exception, param, "sums_to_zero", False, clause)
    return None


def _fits_kind(spec: ToolSpec, param: str, kind: Kind, other: str | None) -> bool:
    """Sizes are of texts and containers; comparisons are between two numbers."""
    container = _container(spec, param)
    if kind in ("empty", "fewer_than"):
        return container is not None or _kind(spec, param) == "string"
    if kind in ("greater_than", "less_than"):
        return container is None and other not in (None, param)
    return True


def _absolute_zero(spec: ToolSpec, name: str) -> float | None:
    param = next(p for p in spec.params if p.name == name)
    text = f"{param.name.replace('_', ' ')} {param.description}".lower()
    found = {zero for pattern, zero in _ABSOLUTE_ZERO if re.search(pattern, text)}
    return found.pop() if len(found) == 1 else None


def _param(spec: ToolSpec, subject: str) -> str | None:
    """The one parameter `subject` names, or None."""
    words = _ARTICLE.sub("", subject.strip()).split()
    if not words or len(words) > 3:
        return None
    phrase = " ".join(words)
    by_name = [p.name for p in spec.params
               if phrase in _forms(p.name.replace("_", " ").lower())]
    if len(by_name) == 1:
        return by_name[0]
    generic = {"list": "array", "lists": "array", "text": "string", "string": "string",
               "mapping": "object", "dict": "object"}
    if phrase in generic:
        typed = [p.name for p in spec.params if _container(spec, p.name) == generic[phrase]
                 or (generic[phrase] == "string" and _kind(spec, p.name) == "string")]
        return typed[0] if len(typed) == 1 else None
    # Every word of the subject among the parameter's name and description words.
    described = [p.name for p in spec.params if all(
        any(w in _forms(known) for known in _words(p.name.replace("_", " ") + " "
                                                      + p.description)) for w in words)]
    return described[0] if len(described) == 1 else None


def _forms(word: str) -> set[str]:
    """A word (or phrase) and its plain singular/plural."""
    forms = {word, word + "s", word + "es"}
    if word.endswith("s"):
        forms.add(word[:-1])
    if word.endswith("es"):
        forms.add(word[:-2])
    return forms


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z]+", text.lower())


def _kind(spec: ToolSpec, name: str) -> str | None:
    schema = spec.parameters_schema.get("properties", {}).get(name, {})
    kinds = [schema.get("type")] + [o.get("type") for o in schema.get("anyOf", [])
                                    if isinstance(o, dict)]
    real = [k for k in kinds if isinstance(k, str) and k != "null"]
    return real[0] if len(set(real)) == 1 else None


def _container(spec: ToolSpec, name: str) -> str | None:
    kind = _kind(spec, name)
    return kind if kind in ("array", "object") else None


def integer_valued(spec: ToolSpec, name: str, each: bool) -> bool:
    """Whether the parameter (or its items) is an integer, so witnesses are ints."""
    schema = spec.parameters_schema.get("properties", {}).get(name, {})
    if each:
        schema = schema.get("items") or schema.get("additionalProperties") or {}
    return isinstance(schema, dict) and schema.get("type") == "integer"


__all__ = ["RaiseCondition", "integer_valued", "raise_conditions"]


# --- the range `Returns:` states ------------------------------------------------------------

_BOUND = r"(-?\d+(?:\.\d+)?)"
# A number ends at a sentence's full stop, not in a formula ("2·x-1", "10^3") or a unit.
_END = r"(?![\w·/^*%]|\.\d)"
_RANGE = re.compile(rf"(?<![\w.·/^*]){_BOUND}\s*(?:-|–|to|\.\.)\s*{_BOUND}{_END}")
_AT_LEAST = re.compile(rf"\bat least {_BOUND}{_END}")
_AT_MOST = re.compile(rf"\bat most {_BOUND}{_END}")


@dataclass(frozen=True)
class ReturnRange:
    low: float | None
    high: float | None
    text: str

    def outside(self, value: Any) -> Any:
        """The first number of `value` (a number or a list of them) outside the range."""
        items = value if isinstance(value, list) else [value]
        for item in items:
            if _number(item) and ((self.low is not None and item < self.low)
                                  or (self.high is not None and item > self.high)):
                return item
        return None


def return_range(spec: ToolSpec) -> ReturnRange | None:
    """The range the `Returns:` text states ("0-12", "each 0-255", "28 to 31", "at least
    1"), when it states exactly one and the result is a number or a list of numbers."""
    text = spec.returns_description
    schema = spec.returns_schema
    kind = schema.get("type")
    if kind == "array":
        kind = (schema.get("items") or {}).get("type")
    if kind not in ("integer", "number"):
        return None
    ranges = _RANGE.findall(text)
    low_only, high_only = _AT_LEAST.findall(text), _AT_MOST.findall(text)
    if len(ranges) + len(low_only) + len(high_only) != 1:
        return None
    if ranges:
        low, high = (float(b) for b in ranges[0])
        return ReturnRange(low, high, text.strip()) if low < high else None
    if low_only:
        return ReturnRange(float(low_only[0]), None, text.strip())
    return ReturnRange(None, float(high_only[0]), text.strip())


__all__ += ["ReturnRange", "return_range"]


# --- text the docstring says is read whatever its case --------------------------------------

_ANY_CASE = re.compile(r"case[- ]insensitive|either case|upper or lower case|lower or upper "
                       r"case|any case|ignoring case|regardless of case", re.IGNORECASE)


def case_insensitive(spec: ToolSpec) -> list[str]:
    """Text parameters the docstring says are read whatever their case: said in the
    parameter's own description, or in the summary when only one parameter is text."""
    texts = [p.name for p in spec.params if _kind(spec, p.name) == "string"]
    named = [p.name for p in spec.params if p.name in texts and _ANY_CASE.search(p.description)]
    if not named and len(texts) == 1 and _ANY_CASE.search(spec.summary):
        named = texts
    return named


__all__ += ["case_insensitive"]


# --- labels the docstring gives for bands of one number ------------------------------------

_NUM = r"(-?\d+(?:\.\d+)?)"
_LABELLED = re.compile(r"(?:\"([^\"]+)\"|'([^']+)'|\b([A-Za-z][\w-]*))\s*\(([^()]*)\)")
_BAND_FORMS: tuple[tuple[str, str], ...] = (
    (rf"(?:below|under|less than|<)\s*{_NUM}", "lt"),
    (rf"(?:above|over|more than|greater than|>)\s*{_NUM}", "gt"),
    (rf"{_NUM}\s*\+|{_NUM} or (?:more|above|higher)|at least {_NUM}|>=\s*{_NUM}", "ge"),
    (rf"{_NUM}\s*(?:-|–|to)\s*{_NUM}", "range"),
    (rf"{_NUM}", "eq"),
)


@dataclass(frozen=True)
class Band:
    label: str
    form: str  # lt, gt, ge, range, eq
    low: float
    high: float = 0.0

    def holds(self, x: float) -> bool:
        return {"lt": x < self.low, "gt": x > self.low, "ge": x >= self.low,
                "range": self.low <= x <= self.high, "eq": x == self.low}[self.form]


@dataclass(frozen=True)
class Bands:
    """'Classify a pH as "acidic" (below 7), "neutral" (7) or "basic" (above 7)'; 'A (90+),
    B (80+), C (70+)': the label the docstring gives each band of one number."""

    param: str
    bands: tuple[Band, ...]
    text: str

    def expected(self, x: float) -> str | None:
        """The one label the docstring gives `x`, or None (none, or unclear)."""
        ge = [b for b in self.bands if b.form == "ge" and x >= b.low]
        top = max(ge, key=lambda b: b.low) if ge else None  # "80+" is below "90+"
        found = [b for b in self.bands if b.form != "ge" and b.holds(x)]
        found += [top] if top is not None else []
        return found[0].label if len(found) == 1 else None

    def probes(self, integer: bool) -> list[float]:
        """Each band's edges and a point inside, where the docstring gives one label."""
        step = 1.0 if integer else 0.5
        points: list[float] = []
        for band in self.bands:
            points += {"lt": [band.low - step, band.low], "gt": [band.low + step, band.low],
                       "ge": [band.low, band.low - step], "range": [band.low, band.high],
                       "eq": [band.low]}[band.form]
        return [p for p in dict.fromkeys(points) if self.expected(p) is not None]


def stated_bands(spec: ToolSpec) -> Bands | None:
    """The bands the summary or `Returns:` gives, for a tool of one number returning text
    (two labelled bands at least, every labelled parenthesis read)."""
    numbers = [p.name for p in spec.params if _kind(spec, p.name) in ("number", "integer")]
    if len(numbers) != 1 or spec.returns_schema.get("type") != "string":
        return None
    text = f"{spec.summary} {spec.returns_description}"
    bands = []
    for match in _LABELLED.finditer(text):
        label = next(g for g in match.groups()[:3] if g)
        condition = match.group(4).strip().lower()
        for pattern, form in _BAND_FORMS:
            read = re.fullmatch(pattern, condition)
            if read:
                values = [float(v) for v in read.groups() if v is not None]
                bands.append(Band(label, form, values[0], values[-1]))
                break
        else:
            return None  # a parenthesis this reader does not understand: no claim
    return Bands(numbers[0], tuple(bands), text.strip()) if len(bands) >= 2 else None


__all__ += ["Band", "Bands", "stated_bands"]


# --- examples the docstring gives -------------------------------------------------------------

_ARROW = r"(?:=|==|->|→|returns|gives|is)"
_LITERAL = r"(\"[^\"]*\"|'[^']*'|\[[^\[\]]*\]|\{[^{}]*\}|-?\d+(?:\.\d+)?(?:e-?\d+)?|True|False)"


@dataclass(frozen=True)
class Example:
    args: dict[str, Any]
    expected: Any
    expected_text: str  # as written: the digits it gives set the tolerance
    text: str

    def matches(self, actual: Any) -> bool:
        try:
            node = pyast.parse(self.expected_text, mode="eval").body
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return True
        return _close(actual, node, self.expected_text)


def _close(actual: Any, node: ast.AST, source: str) -> bool:
    """`actual` equals the literal `node`, numbers within half a unit of the last digit
    written ("0.33" holds 1/3)."""
    if isinstance(node, ast.List | ast.Tuple):
        return isinstance(actual, list) and len(actual) == len(node.elts) and all(
            _close(a, n, source) for a, n in zip(actual, node.elts, strict=True))
    if isinstance(node, ast.Dict):
        try:
            keys = [pyast.literal_eval(k) for k in node.keys if k is not None]
        except (ValueError, TypeError, RecursionError, MemoryError):
            return True
        return isinstance(actual, dict) and set(actual) == set(keys) and all(
            _close(actual[k], v, source) for k, v in zip(keys, node.values, strict=True))
    try:
        expected = pyast.literal_eval(node)
    except (ValueError, TypeError, RecursionError, MemoryError):
        return True  # not a literal this reader judges
    if isinstance(expected, bool) or not isinstance(expected, int | float):
        return bool(actual == expected)
    if isinstance(actual, bool) or not isinstance(actual, int | float):
        return False
    written = ast.get_source_segment(source, node) or repr(expected)
    return abs(actual - expected) <= _half_unit(written) + 1e-9 * abs(expected)


def _half_unit(written: str) -> float:
    match = re.fullmatch(r"-?\s*\d+(?:\.(\d+))?(?:[eE]([-+]?\d+))?", written.strip())
    if not match:
        return 0.0
    decimals = len(match.group(1) or "")
    exponent = int(match.group(2) or 0)
    return 0.5 * 10.0 ** (exponent - decimals)


def docstring_examples(spec: ToolSpec) -> list[Example]:
    """Calls with answers the docstring gives: doctest lines (`>>> f(2)` and the answer
    below), `f(2) = 4` / `->` / `returns`, and, for a tool of one text parameter,
    `"Ada Lovelace" -> "AL"` / `"1-3" into [1, 2, 3]`. Literal arguments only."""
    text = f"{spec.summary}\n{spec.docstring}"
    found: list[Example] = []
    lines = text.splitlines()
    for i, line in enumerate(lines):
        call = re.match(r"\s*>>>\s*(.+)$", line)
        if call and i + 1 < len(lines) and lines[i + 1].strip() and not lines[
                i + 1].strip().startswith(">>>"):
            found += _example(spec, call.group(1), lines[i + 1].strip(), line.strip())
    name = re.escape(spec.name)
    for match in re.finditer(rf"\b({name}\([^()]*\))\s*{_ARROW}\s*{_LITERAL}", text):
        found += _example(spec, match.group(1), match.group(2), match.group(0))
    texts = [p for p in spec.params if _kind(spec, p.name) == "string"]
    if len(texts) == 1 and all(p.name == texts[0].name or not p.required for p in spec.params):
        for match in re.finditer(rf"(\"[^\"]+\")\s*(?:->|→|into|gives)\s*{_LITERAL}", text):
            found += _example(spec, f"{spec.name}({match.group(1)})", match.group(2),
                              match.group(0))
    unique = {repr((e.args, e.expected_text)): e for e in found}
    return list(unique.values())


def _example(spec: ToolSpec, call: str, expected: str, text: str) -> list[Example]:
    try:
        node = pyast.parse(call.strip(), mode="eval").body
        value = pyast.literal_eval(expected)
    except (SyntaxError, ValueError, TypeError, RecursionError, MemoryError):
        return []
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id == spec.name):
        return []
    names = [p.name for p in spec.params]
    try:
        args = dict(zip(names, [pyast.literal_eval(a) for a in node.args], strict=False))
        args.update({k.arg: pyast.literal_eval(k.value) for k in node.keywords if k.arg})
    except (ValueError, TypeError, RecursionError, MemoryError):
        return []
    if len(node.args) > len(names) or not set(args) <= set(names):
        return []
    if isinstance(value, tuple):
        value = list(value)
    return [Example(args, value, expected.strip(), text)]


__all__ += ["Example", "docstring_examples"]


# --- a number the docstring says is taken modulo N ------------------------------------------

_MODULO = re.compile(r"\b(?:taken |reduced |wrapped )?(?:modulo|mod) (\d+(?:\.\d+)?)\b",
                     re.IGNORECASE)


def periodic(spec: ToolSpec) -> dict[str, float]:
    """Number parameters the docstring says are taken modulo N ("any value; taken modulo
    360"): parameter -> N. Said in the parameter's description, or in the summary when the
    tool has one number parameter."""
    numbers = [p for p in spec.params if _kind(spec, p.name) in ("number", "integer")]
    out = {}
    for param in numbers:
        found = {float(m) for m in _MODULO.findall(param.description)}
        if not found and len(numbers) == 1:
            found = {float(m) for m in _MODULO.findall(spec.summary)}
        if len(found) == 1 and (period := found.pop()) > 0:
            out[param.name] = period
    return out


__all__ += ["periodic"]
