from tool import linger


def test_it_returned():
    assert linger() == 1
