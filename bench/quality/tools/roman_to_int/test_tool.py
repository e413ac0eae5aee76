from tool import roman_to_int


def test_example():
    assert roman_to_int("MCMXCIV") == 1994
