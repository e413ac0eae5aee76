from tool import money_to_cents


def test_example():
    assert money_to_cents("$1,234.5") == 123450
