from tool import day_of_year


def test_example():
    assert day_of_year("2024-03-01") == 61
