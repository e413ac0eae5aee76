from tool import compass_direction


def test_example():
    assert compass_direction(200.0) == 'S'
