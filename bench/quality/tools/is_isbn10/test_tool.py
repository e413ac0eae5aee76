from tool import is_isbn10


def test_example():
    assert is_isbn10("0-306-40615-2") == True
