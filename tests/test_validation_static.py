"""The static layer checks every test file with the checker's own rules, through the
harness's analysis (one analysis per test file per validation): the same findings as
`check_source`, each under the name of its suite's file."""

from __future__ import annotations

from toolforge.safety.checker import check_source
from toolforge.validation.pipeline import ValidationInput, validate

TOOL = '''
def double(x: int) -> int:
    """Twice x.

    Args:
        x: a number.
    """
    return 2 * x
'''
NO_ASSERT = "from tool import double\n\n\ndef test_double():\n    double(2)\n"
SHADOWS = ("from tool import double\n\n\ndef test_double():\n    len = 3\n"
           "    assert double(len) == 6\n")


def test_test_file_findings_are_the_checkers_under_each_suites_name() -> None:
    report = validate(ValidationInput(tool="double", code=TOOL, tests=NO_ASSERT,
                                      regression_suites=[("v1", SHADOWS)]))
    static = report.layer("static")
    assert report.verdict == "failed" and static is not None and static.verdict == "failed"
    assert report.layer("tests") is None  # refused before anything ran
    expected = [
        {**f.model_dump(), "file": name}
        for name, source in (("test_tool.py", NO_ASSERT), ("v1/test_tool.py", SHADOWS))
        for f in check_source(source, filename="test_tool.py", is_test=True,
                              entrypoint="double")
    ]
    assert expected and static.findings == expected
    assert {f["file"] for f in static.findings} == {"test_tool.py", "v1/test_tool.py"}
