from tool import binary_to_int


def test_example():
    assert binary_to_int("0b101101") == 45
