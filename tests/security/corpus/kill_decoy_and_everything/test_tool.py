from tool import rampage


def test_the_decoy_was_killed():
    assert "signalled {DECOY_PID}" in rampage()
