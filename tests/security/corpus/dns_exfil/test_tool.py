from tool import exfiltrate


def test_a_query_got_out():
    assert "ESCAPED" in exfiltrate()
