from tool import caesar_shift


def test_example():
    assert caesar_shift("Hello, World", 3) == 'Khoor, Zruog'
