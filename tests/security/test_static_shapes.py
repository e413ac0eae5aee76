"""The static checker refuses whole shapes (issue 9, item 2): the audit's own cases.

Each rule the issue names gets examples that are not in tests/test_safety_checker.py:
private attributes of non-module objects reached in other spellings, names `match`
resolves at run time, strings that reach typing's evaluator through aliases, and
file-taking standard-library APIs given their path in other positions and keywords.
Every one must get a finding of its rule; the honest look-alikes must get none.
"""

from __future__ import annotations

import pytest

from toolforge.safety.checker import check_source

HEAD = "def f(x: int) -> object:\n"


def _codes(body: str, imports: str = "") -> set[str]:
    source = imports + HEAD + "".join(f"    {line}\n" for line in body.splitlines())
    return {finding.code.split()[0] for finding in check_source(source)}


PRIVATE = [  # TF301 / TF202 / TF304: every `_` attribute, however it is spelled
    ("import contextlib", "return contextlib.ExitStack()._exit_callbacks"),
    ("import enum", "return enum.IntEnum._convert_"),
    ("import functools", "return functools.partial(len)._x"),
    ("", "return (lambda: 1)._y"),
    ("from operator import attrgetter as ag", "return ag('a._b')(x)"),
    ("import operator", "return operator.methodcaller('_evaluate')(x)"),
    ("", "return getattr(x, '_value_', None)"),
    ("", "return '{0._x}'.format(x)"),
    ("", "return '{0[k]._x}'.format({'k': x})"),
    ("", "match x:\n    case object(_y=z):\n        return z\nreturn 0"),
]
MATCH = [  # TF306: class patterns whose positions __match_args__ names
    ("from dataclasses import dataclass\n@dataclass\nclass P:\n    a: int\n",
     "match x:\n    case P(a):\n        return a\nreturn 0"),
    ("", "match x:\n    case complex(r, i):\n        return r\nreturn 0"),
    ("", "match x:\n    case int(a, b):\n        return a\nreturn 0"),
    ("class C:\n    pass\n", "match x:\n    case C(a):\n        return a\nreturn 0"),
]
EVALUATED = [  # TF208 / TF104: strings typing would evaluate, and the evaluators
    ("import typing\nL = typing.List\n", "return L[\"__import__('os')\"]"),
    ("from typing import Dict\n", "return (D := Dict)[str, \"__import__('os')\"]"),
    ("from typing import List, TypeVar\nV = TypeVar('V')\nG = List[V]\n",
     "return G[\"__import__('os')\"]"),
    ("from typing import TypeVar as TV\n", "return TV('T', bound=\"__import__('os')\")"),
    ("import typing\n", "return typing.Optional[\"__import__('os')\"]"),
    ("import typing\n", "return typing.get_type_hints(f)"),
    ("from typing import ForwardRef as F\n", "return F('x')"),
]
FILES = [  # TF104: file-taking APIs, whatever position or keyword holds the path
    ("import codecs", "return codecs.open(filename='/etc/passwd').read()"),
    ("from bz2 import BZ2File as B", "return B('/etc/passwd').read()"),
    ("import gzip", "return gzip.GzipFile('/etc/passwd').read()"),
    ("from xml.dom.minidom import parse as p", "return p('/etc/passwd')"),
    ("import xml.etree.ElementTree as ET", "return ET.ElementTree().parse('/etc/passwd')"),
    ("from xml.etree.ElementTree import ElementTree",
     "return ElementTree(file='/etc/passwd')"),
    ("import xml.etree.ElementTree as ET", "return ET.canonicalize(from_file='/etc/passwd')"),
    ("import shlex", "return shlex.shlex('x').sourcehook('/etc/passwd')"),
    ("import gzip", "return gzip.io.open('/etc/passwd').read()"),
]


@pytest.mark.parametrize(("imports", "body"), PRIVATE)
def test_private_attributes_of_any_object(imports: str, body: str) -> None:
    assert _codes(body, imports + "\n") & {"TF301", "TF202", "TF304"}


@pytest.mark.parametrize(("imports", "body"), MATCH)
def test_names_match_would_resolve_at_run_time(imports: str, body: str) -> None:
    assert "TF306" in _codes(body, imports)


@pytest.mark.parametrize(("imports", "body"), EVALUATED)
def test_strings_that_reach_an_evaluator(imports: str, body: str) -> None:
    assert _codes(body, imports) & {"TF208", "TF104"}


@pytest.mark.parametrize(("imports", "body"), FILES)
def test_file_taking_apis_without_file_access(imports: str, body: str) -> None:
    assert "TF104" in _codes(body, imports + "\n")


@pytest.mark.parametrize("char", ["\u2028", "\u2029", "\x85", "\x0b", "\x1c"])
def test_hidden_line_breaks_are_refused_where_python_counts_the_line(char: str) -> None:
    """Editors and tracebacks (linecache splits with str.splitlines) break the line there,
    Python does not: every source line shown after it would not be the line that ran."""
    source = f'def f(x: int) -> int:\n    """Doc.{char}"""\n    return x // 0\n'
    findings = [f for f in check_source(source) if f.code.startswith("TF004")]
    assert [(f.line, f.col) for f in findings] == [(2, 12)], findings
    for finding in check_source("def f() -> int:\n    return 1\n# a \x0c form feed\n"):
        assert not finding.code.startswith("TF004")


def test_the_honest_look_alikes_pass() -> None:
    honest = [
        ("from typing import List\nIntList = List[int]\n", "return IntList"),
        ("", "match x:\n    case int(n):\n        return n\nreturn 0"),
        ("", "d = {'_id': x}\nreturn d['_id']"),
        ("import xml.etree.ElementTree as ET\n", "return ET.fromstring('<a/>').find('b')"),
        ("import collections\n", "P = collections.namedtuple('P', 'a b')\n"
         "return P(1, 2)._replace(a=3)._asdict()"),
    ]
    for imports, body in honest:
        assert _codes(body, imports) == set(), (imports, body)
