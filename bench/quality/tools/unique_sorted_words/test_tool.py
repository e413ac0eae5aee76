from tool import unique_sorted_words


def test_example():
    assert unique_sorted_words("Banana apple, cherry banana! Fig", min_length=4) == ['apple', 'banana', 'cherry']
