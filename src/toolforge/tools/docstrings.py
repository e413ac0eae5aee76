"""Google-style docstring parsing: summary, Args (with constraints), Returns, Raises.

Only what the tool contract needs; tolerant of indentation and of missing sections.

An argument's parenthesised part may state its preconditions, so that a tool without
`Annotated[..., Field(...)]` can still say "inputs must be positive"::

    Args:
        mass (float, > 0): the mass in kg.
        ph (0 <= ph <= 14): acidity.
        code (pattern=`^[A-Z]{3}$`): an ISO 4217 currency code.
        values (non-empty, max_length=100): the samples.

Items are separated by commas. A constraint is a comparison with a number (`> 0`, `<= 1`,
`x >= -273.15`, `0 < x < 1`), a keyword (`gt=`, `ge=`, `lt=`, `le=`, `multiple_of=`,
`min_length=`, `max_length=`, `pattern=`; a pattern with commas or parentheses goes in
backticks or quotes), a length bound (`len >= 1`) or one of the words positive, negative,
non-negative, non-positive, non-empty. Other items (`float`, `optional`, `in kg`,
`default=5`) are a type description and ignored; an item that starts like a comparison or
uses a constraint keyword but does not parse is an error, never skipped.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass, field
from typing import Any

_SECTION_RE = re.compile(
    r"^(Args|Arguments|Parameters|Returns|Return|Raises|Yields|Examples?|Notes?):\s*$"
)
_NAME_RE = re.compile(r"^(\*{0,2}\w+)\s*")
_NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
_OPS = {">": "gt", ">=": "ge", "<": "lt", "<=": "le", "≥": "ge", "≤": "le"}
_FLIP = {"gt": "lt", "ge": "le", "lt": "gt", "le": "ge"}
_ONE_SIDED = re.compile(rf"^(?:[A-Za-z_]\w*\s*)?(>=|<=|>|<|≥|≤)\s*({_NUMBER})$")
_REVERSED = re.compile(rf"^({_NUMBER})\s*(>=|<=|>|<|≥|≤)\s*[A-Za-z_]\w*$")
_CHAINED = re.compile(rf"^({_NUMBER})\s*(<=|<|≤)\s*[A-Za-z_]\w*\s*(<=|<|≤)\s*({_NUMBER})$")
_KEYWORD = re.compile(r"^([a-z_]+)\s*=\s*(.+)$", re.DOTALL)
_NUMERIC_KEYS = ("gt", "ge", "lt", "le", "multiple_of")
_LENGTH_KEYS = ("min_length", "max_length")
_WORDS: dict[str, dict[str, Any]] = {
    "positive": {"gt": 0}, "negative": {"lt": 0}, "non-negative": {"ge": 0},
    "nonnegative": {"ge": 0}, "non-positive": {"le": 0}, "nonpositive": {"le": 0},
    "non-empty": {"min_length": 1}, "nonempty": {"min_length": 1},
}  # fmt: skip
# Starts like a comparison (`> 0`, `x <`, `0 <`): must parse, or the docstring is wrong.
_LOOKS_LIKE_CONSTRAINT = re.compile(rf"^(?:[<>≤≥]|[A-Za-z_]\w*\s*[<>≤≥]|{_NUMBER}\s*[<>≤≥])")
_LENGTH_OF = re.compile(r"^len(?:gth)?\s*(>=|<=|>|<|≥|≤)\s*(\d+)$")


class DocstringError(ValueError):
    """A constraint in the docstring that does not parse (message says which and why)."""


@dataclass
class Docstring:
    summary: str = ""
    description: str = ""
    args: dict[str, str] = field(default_factory=dict)
    returns: str = ""
    raises: dict[str, str] = field(default_factory=dict)
    # Per argument: pydantic Field keyword arguments (gt, ge, lt, le, multiple_of,
    # min_length, max_length, pattern) stated in its parenthesised part.
    constraints: dict[str, dict[str, Any]] = field(default_factory=dict)


def parse_docstring(text: str | None) -> Docstring:
    doc = Docstring()
    if not text:
        return doc
    lines = inspect.cleandoc(text).splitlines()
    intro: list[str] = []
    section: str | None = None
    body: dict[str, list[str]] = {}
    for line in lines:
        match = _SECTION_RE.match(line.strip()) if not line.startswith((" ", "\t")) else None
        if match:
            section = _canonical(match.group(1))
            body.setdefault(section, [])
            continue
        if section is None:
            intro.append(line)
        else:
            body[section].append(line)

    paragraphs = "\n".join(intro).strip().split("\n\n")
    doc.summary = " ".join(paragraphs[0].split()) if paragraphs and paragraphs[0] else ""
    doc.description = "\n".join(intro).strip()
    args = _parse_items(body.get("args", []))
    doc.args = {name: text for name, (_, text) in args.items()}
    for name, (spec, _) in args.items():
        constraints = parse_constraints(spec, name) if spec else {}
        if constraints:
            doc.constraints[name] = constraints
    doc.raises = {name: text for name, (_, text) in _parse_items(body.get("raises", [])).items()}
    doc.returns = " ".join(" ".join(body.get("returns", [])).split())
    return doc


def _canonical(name: str) -> str:
    name = name.lower()
    if name in ("args", "arguments", "parameters"):
        return "args"
    if name in ("returns", "return", "yields"):
        return "returns"
    if name == "raises":
        return "raises"
    return name


def _parse_items(lines: list[str]) -> dict[str, tuple[str, str]]:
    """Items are `name: text` or `name (spec): text` lines; deeper-indented lines continue.

    Returns name -> (the parenthesised spec, or "", the text)."""
    items: dict[str, tuple[str, str]] = {}
    current: str | None = None
    base_indent: int | None = None
    for raw in lines:
        if not raw.strip():
            continue
        indent = len(raw) - len(raw.lstrip())
        if base_indent is None:
            base_indent = indent
        item = _split_item(raw.strip()) if indent <= base_indent else None
        if item is not None:
            current = item[0]
            items[current] = (item[1], item[2])
        elif current is not None:
            spec, text = items[current]
            items[current] = (spec, (text + " " + raw.strip()).strip())
    return items


def _split_item(line: str) -> tuple[str, str, str] | None:
    """`name (spec): text` -> (name, spec, text); None when the line is not an item."""
    match = _NAME_RE.match(line)
    if match is None:
        return None
    name, rest = match.group(1).lstrip("*"), line[match.end():]
    spec = ""
    if rest.startswith("("):
        end = _closing(rest)
        if end is None:
            return None
        spec, rest = rest[1:end], rest[end + 1 :].lstrip()
    if not rest.startswith(":"):
        return None
    return name, spec.strip(), rest[1:].strip()


_PAIRS = {"(": ")", "[": "]", "{": "}"}
_QUOTES = "`\"'"


def _closing(text: str) -> int | None:
    """Index of the parenthesis closing text[0], skipping nested brackets and quotes."""
    depth, quote = 0, ""
    for index, char in enumerate(text):
        if quote:
            if char == quote:
                quote = ""
        elif char in _QUOTES:
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
            if depth == 0:
                return index if char == ")" else None
    return None


def _split_top(spec: str) -> list[str]:
    """Split at commas outside brackets and quotes."""
    parts: list[str] = []
    depth, quote, start = 0, "", 0
    for index, char in enumerate(spec):
        if quote:
            if char == quote:
                quote = ""
        elif char in _QUOTES:
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth = max(0, depth - 1)
        elif char == "," and depth == 0:
            parts.append(spec[start:index])
            start = index + 1
    parts.append(spec[start:])
    return [p.strip() for p in parts if p.strip()]


def parse_constraints(spec: str, name: str = "the argument") -> dict[str, Any]:
    """pydantic Field keyword arguments stated in an argument's parenthesised part."""
    found: dict[str, Any] = {}

    def put(key: str, value: Any) -> None:
        if key in found and found[key] != value:
            raise DocstringError(f"{name}: {key} is stated twice ({found[key]!r} and {value!r})")
        found[key] = value

    for item in _split_top(spec):
        lowered = item.lower()
        if lowered in _WORDS:
            for key, value in _WORDS[lowered].items():
                put(key, value)
            continue
        length = _LENGTH_OF.match(item)
        if length is not None:
            op, size = _OPS[length.group(1)], int(length.group(2))
            if op in ("gt", "ge"):
                put("min_length", size + (op == "gt"))
            else:
                put("max_length", size - (op == "lt"))
            continue
        one = _ONE_SIDED.match(item)
        if one is not None:
            put(_OPS[one.group(1)], _number(one.group(2)))
            continue
        reverse = _REVERSED.match(item)
        if reverse is not None:
            put(_FLIP[_OPS[reverse.group(2)]], _number(reverse.group(1)))
            continue
        chained = _CHAINED.match(item)
        if chained is not None:
            put(_FLIP[_OPS[chained.group(2)]], _number(chained.group(1)))
            put(_OPS[chained.group(3)], _number(chained.group(4)))
            continue
        keyword = _KEYWORD.match(item)
        if keyword is not None and keyword.group(1) in (*_NUMERIC_KEYS, *_LENGTH_KEYS, "pattern"):
            key, raw = keyword.group(1), keyword.group(2).strip()
            if key == "pattern":
                put(key, _unquote(raw))
            elif key in _LENGTH_KEYS:
                if not raw.isdigit():
                    raise DocstringError(f"{name}: {key} must be a whole number, not {raw!r}")
                put(key, int(raw))
            else:
                if not re.fullmatch(_NUMBER, raw):
                    raise DocstringError(f"{name}: {key} must be a number, not {raw!r}")
                put(key, _number(raw))
            continue
        if _LOOKS_LIKE_CONSTRAINT.search(item):
            raise DocstringError(
                f"{name}: cannot read the constraint {item!r}; write e.g. `> 0`, "
                "`0 <= x <= 1`, `min_length=1` or pattern=`^[A-Z]{3}$`"
            )
    return found


def _number(text: str) -> int | float:
    value = float(text)
    return int(value) if re.fullmatch(r"[-+]?\d+", text) else value


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in _QUOTES:
        return text[1:-1]
    return text
