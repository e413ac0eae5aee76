from tool import bomb


def test_four_gigabytes_were_written():
    assert bomb() >= 4 << 30
