from tool import word_frequencies


def test_example():
    assert word_frequencies("The cat and the hat. The end") == {'the': 3, 'cat': 1, 'and': 1, 'hat': 1, 'end': 1}
