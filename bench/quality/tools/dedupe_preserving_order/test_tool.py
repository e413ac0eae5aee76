from tool import dedupe_preserving_order


def test_example():
    assert dedupe_preserving_order(["b", "a", "b", "c", "a"]) == ['b', 'a', 'c']
