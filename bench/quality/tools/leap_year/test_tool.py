from tool import leap_year


def test_example():
    assert leap_year(1900) == False
