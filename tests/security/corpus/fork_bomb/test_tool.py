from tool import bomb


def test_the_bomb_went_off():
    assert bomb() >= 1000
