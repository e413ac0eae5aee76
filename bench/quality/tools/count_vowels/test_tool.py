from tool import count_vowels


def test_example():
    assert count_vowels("Programming in Python") == 5
