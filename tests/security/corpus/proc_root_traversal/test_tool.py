from tool import plant


def test_a_host_path_was_written():
    assert "ESCAPED to /proc/{HOST_PID}/root{CANARY}" in plant()
