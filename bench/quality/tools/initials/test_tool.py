from tool import initials


def test_example():
    assert initials("Jean-Paul Sartre") == 'JPS'
