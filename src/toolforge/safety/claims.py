"""What a docstring promises about refusals, read as an oracle for the property attack.

A `Raises:` entry such as "ValueError: when the area is not positive." says two things a
reviewer can check without knowing any answer:

- on an input where the condition holds (area = 0, area = -1.5) the tool raises that
  exception: answering, or failing another way (ZeroDivisionError), breaks the promise;
- when every condition listed for the exception was understood, a refusal with it caused by
  a parameter the conditions speak of, at a value where none holds (area = 0.5 refused as
  "not positive"), refuses input the docstring accepts.

Only simple conditions are read: "the <parameter> is not positive | negative | zero |
empty", "there are no <parameter>", "a/one/any <item of a list or mapping parameter> is not
positive", "the <list parameter> sum(s) to zero", joined by "or". The subject must name one
parameter without doubt: its name, its name's words, singular or plural, or words of its
`Args:` description ("the input energy" for `total_input: energy in`), or "the list" /
"the text" when only one parameter is one. Anything else leaves the entry unread (no check),
so a docstring the reader does not understand never costs a correct tool anything.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any, Literal

from toolforge.tools.contract import ToolSpec

Kind = Literal["not_positive", "negative", "zero", "empty", "sums_to_zero"]


@dataclass(frozen=True)
class RaiseCondition:
    exception: str  # the documented class, as written ("ValueError")
    param: str
    kind: Kind
    each: bool  # said of one item of a list (or one value of a mapping)
    text: str  # the docstring's words for it

    def holds(self, args: dict[str, Any]) -> bool:
        """Whether the condition is true of `args` (False when it cannot be told)."""
        if self.param not in args:
            return False
        value = args[self.param]
        if self.kind == "empty":
            return isinstance(value, str | list | dict) and len(value) == 0
        if self.kind == "sums_to_zero":
            return isinstance(value, list) and _numbers(value) and sum(value) == 0
        items: list[Any] = [value]
        if self.each:
            items = list(value.values()) if isinstance(value, dict) else (
                value if isinstance(value, list) else [])
        return any(_number(v) and _KIND_TEST[self.kind](v) for v in items)

    def witnesses(self, base: dict[str, Any], integer: bool) -> list[dict[str, Any]]:
        """Inputs like `base` on which the condition holds."""
        current = base.get(self.param)
        if self.kind == "empty":
            empty = {"str": "", "list": [], "dict": {}}.get(type(current).__name__)
            return [] if empty is None else [{**base, self.param: empty}]
        if self.kind == "sums_to_zero":
            if not isinstance(current, list) or len(current) < 2:
                return []
            zeroed = [1, -1] + [0] * (len(current) - 2)
            return [{**base, self.param: [float(v) for v in zeroed] if not integer
                     else zeroed}]
        out = []
        for bad in _KIND_VALUES[self.kind]:
            value: Any = int(bad) if integer else bad
            if self.each:
                if isinstance(current, list) and current:
                    value = [value, *copy.deepcopy(current[1:])]
                elif isinstance(current, dict) and current:
                    first = next(iter(current))
                    value = {**copy.deepcopy(current), first: value}
                else:
                    continue
            out.append({**base, self.param: value})
        return out


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _numbers(values: list[Any]) -> bool:
    return all(map(_number, values))


_KIND_TEST = {
    "not_positive": lambda v: v <= 0,
    "negative": lambda v: v < 0,
    "zero": lambda v: v == 0,
}
_KIND_VALUES: dict[str, tuple[float, ...]] = {
    "not_positive": (0.0, -1.5),
    "negative": (-1.5,),
    "zero": (0.0,),
}
_PREDICATES: tuple[tuple[str, Kind], ...] = (
    (r"(?:is|are) (?:not positive|non-positive|zero or negative|negative or zero|"
     r"not greater than zero|at most zero)", "not_positive"),
    (r"(?:is|are) (?:negative|below zero|less than zero)", "negative"),
    (r"(?:is|are) zero", "zero"),
    (r"(?:is|are) empty", "empty"),
    (r"sums? to zero", "sums_to_zero"),
)
_ARTICLE = re.compile(r"^(?:the|a|an|any|one|some|each)\s+")
_ITEM_WORDS = ("a ", "an ", "any ", "one ", "some ", "each ")


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
    text = re.sub(r"^(?:raised\s+)?(?:when|if|whenever)\s+", "", text)
    return [c.strip() for c in re.split(r",?\s+or\s+|,\s*", text) if c.strip()]


def _condition(spec: ToolSpec, exception: str, clause: str,
               before: list[str]) -> RaiseCondition | None:
    match = re.fullmatch(r"there (?:are|is) no (.+)", clause)
    if match:
        param = _param(spec, match.group(1))
        return None if param is None else RaiseCondition(exception, param, "empty", False,
                                                         clause)
    for pattern, kind in _PREDICATES:
        match = re.fullmatch(rf"(.+?) {pattern}", clause)
        if not match:
            continue
        subject = match.group(1)
        each = subject.startswith(_ITEM_WORDS) and kind not in ("empty", "sums_to_zero")
        if subject in ("one", "any", "some", "one of them", "any of them") and before:
            # "no values or one is not positive": the subject of the clause before
            previous = re.fullmatch(r"there (?:are|is) no (.+)", before[-1])
            param = _param(spec, previous.group(1)) if previous else None
        else:
            param = _param(spec, subject, each=each)
        if param is None:
            return None
        container = _container(spec, param)
        if each and container not in ("array", "object"):
            return None
        if not each and kind in ("not_positive", "negative", "zero") and container:
            return None  # "the list is negative": not a reading this module trusts
        return RaiseCondition(exception, param, kind, each or bool(
            container and kind in ("not_positive", "negative", "zero")), clause)
    return None


def _param(spec: ToolSpec, subject: str, each: bool = False) -> str | None:
    """The one parameter `subject` names, or None."""
    words = _ARTICLE.sub("", subject.strip()).split()
    if not words or len(words) > 3:
        return None
    phrase = " ".join(words)
    by_name = [p.name for p in spec.params
               if phrase in _forms(p.name.replace("_", " "))]
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
