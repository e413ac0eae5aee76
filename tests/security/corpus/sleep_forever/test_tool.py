from tool import nap


def test_it_woke_up():
    assert nap() == 1
