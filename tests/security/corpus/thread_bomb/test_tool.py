from tool import bomb


def test_all_threads_started():
    assert bomb() == 10000
