from tool import exfiltrate


def test_something_got_out():
    assert "ESCAPED" in exfiltrate()
