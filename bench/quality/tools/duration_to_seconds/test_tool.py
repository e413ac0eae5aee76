from tool import duration_to_seconds


def test_example():
    assert duration_to_seconds("2h5m10s") == 7510
