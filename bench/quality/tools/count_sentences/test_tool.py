from tool import count_sentences


def test_example():
    assert count_sentences("Hi there. How are you?! Fine") == 3
