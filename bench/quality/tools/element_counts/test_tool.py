from tool import element_counts


def test_example():
    assert element_counts("CH3COOH") == {'C': 2, 'H': 4, 'O': 2}
