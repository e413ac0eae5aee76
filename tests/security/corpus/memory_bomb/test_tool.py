from tool import bomb


def test_eight_gigabytes_were_held():
    assert bomb() >= 8192
