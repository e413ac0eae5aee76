from tool import histogram


def test_example():
    assert histogram([1.0, 4.5, 5.0, 9.9, 12.0], 5.0) == {'0.0': 2, '5.0': 2, '10.0': 1}
