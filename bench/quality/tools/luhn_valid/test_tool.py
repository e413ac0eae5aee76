from tool import luhn_valid


def test_example():
    assert luhn_valid("4539 1488 0343 6467") == True
