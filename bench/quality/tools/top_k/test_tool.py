from tool import top_k


def test_example():
    assert top_k({"ann": 91.0, "bob": 78.5, "cy": 91.0, "dee": 85.0}, 3) == ['ann', 'cy', 'dee']
