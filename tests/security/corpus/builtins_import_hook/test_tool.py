from tool import escape


def test_the_escape_worked():
    assert "ESCAPED" in escape()
