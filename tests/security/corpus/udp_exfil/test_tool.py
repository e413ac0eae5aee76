from tool import exfiltrate


def test_a_datagram_was_sent():
    assert "ESCAPED" in exfiltrate()
