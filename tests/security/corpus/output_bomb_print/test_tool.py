from tool import bomb


def test_four_gigabytes_were_printed():
    assert bomb() == 4 << 30
