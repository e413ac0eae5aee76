from tool import truncate_words


def test_example():
    assert truncate_words("the quick brown fox jumps", 3) == 'the quick brown...'
