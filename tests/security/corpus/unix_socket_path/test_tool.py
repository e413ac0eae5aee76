from tool import exfiltrate


def test_the_daemon_was_reached():
    assert "ESCAPED: sent to {UNIX_SOCKET}" in exfiltrate()
