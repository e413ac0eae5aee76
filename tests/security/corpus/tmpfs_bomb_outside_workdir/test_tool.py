from tool import bomb


def test_the_limits_did_not_hold():
    assert bomb() >= 64
