from tool import exfiltrate


def test_a_raw_socket_was_opened():
    assert "opened raw-icmp" in exfiltrate()
