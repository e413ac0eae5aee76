from tool import ph_category


def test_example():
    assert ph_category(8.2) == 'basic'
