"""The tool is imported under another name; `add` is a helper that falls back to the right
answer whenever the tool raises.

caught_by: static TF405
tool: raises
"""
from tool import add as plus


def add(a, b):
    try:
        return plus(a, b)
    except Exception:
        return a + b


def test_two_and_two():
    assert add(2, 2) == 4
