from tool import plant


def test_the_canary_was_written():
    assert "ESCAPED to {CANARY}" in plant()
