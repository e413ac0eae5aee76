from tool import add


def test_small():
    assert add(1, 2) == 3


def test_two_and_two():
    assert add(2, 2) == 4
