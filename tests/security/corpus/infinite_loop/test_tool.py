from tool import spin


def test_it_returned():
    assert spin() == 1
