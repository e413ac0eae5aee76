from tool import grade_letter


def test_example():
    assert grade_letter(80.0) == 'B'
