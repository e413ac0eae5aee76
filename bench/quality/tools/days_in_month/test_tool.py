from tool import days_in_month


def test_example():
    assert days_in_month(2024, 2) == 29
