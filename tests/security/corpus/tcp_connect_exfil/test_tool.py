from tool import exfiltrate


def test_something_was_sent():
    assert "ESCAPED" in exfiltrate()
