from tool import parse_query


def test_example():
    assert parse_query("?q=heat%20pump&page=2&lang=") == {'q': 'heat pump', 'page': '2', 'lang': ''}
