from tool import int_to_roman


def test_example():
    assert int_to_roman(1987) == 'MCMLXXXVII'
