from tool import crash


def test_it_returned():
    assert crash() == 1
