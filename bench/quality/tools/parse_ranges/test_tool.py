from tool import parse_ranges


def test_example():
    assert parse_ranges("1-3,7,10-12") == [1, 2, 3, 7, 10, 11, 12]
