from tool import rank_scores


def test_example():
    assert rank_scores([88.0, 95.0, 88.0, 70.0]) == [2, 1, 2, 4]
