"""Google-style docstring parsing: summary, Args, Returns, Raises.

Only what the tool contract needs; tolerant of indentation and of missing sections.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass, field

_SECTION_RE = re.compile(
    r"^(Args|Arguments|Parameters|Returns|Return|Raises|Yields|Examples?|Notes?):\s*$"
)
_ARG_RE = re.compile(r"^(\*{0,2}\w+)\s*(?:\(([^)]*)\))?\s*:\s*(.*)$")


@dataclass
class Docstring:
    summary: str = ""
    description: str = ""
    args: dict[str, str] = field(default_factory=dict)
    returns: str = ""
    raises: dict[str, str] = field(default_factory=dict)


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
    doc.args = _parse_items(body.get("args", []))
    doc.raises = _parse_items(body.get("raises", []))
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


def _parse_items(lines: list[str]) -> dict[str, str]:
    """Items are `name: text` (or `name (type): text`) lines; deeper-indented lines continue."""
    items: dict[str, str] = {}
    current: str | None = None
    base_indent: int | None = None
    for raw in lines:
        if not raw.strip():
            continue
        indent = len(raw) - len(raw.lstrip())
        if base_indent is None:
            base_indent = indent
        match = _ARG_RE.match(raw.strip())
        if match and indent <= base_indent:
            current = match.group(1).lstrip("*")
            items[current] = match.group(3).strip()
        elif current is not None:
            items[current] = (items[current] + " " + raw.strip()).strip()
    return items
