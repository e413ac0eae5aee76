from tool import parse_bool


def test_example():
    assert parse_bool(" Yes ") == True
