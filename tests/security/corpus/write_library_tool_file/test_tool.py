from tool import plant


def test_the_tool_was_written():
    assert "ESCAPED to {LIBRARY}/tools/x/tool.py" in plant()
