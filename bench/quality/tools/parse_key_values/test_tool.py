from tool import parse_key_values


def test_example():
    assert parse_key_values("host=db1; port=5432; user = admin") == {'host': 'db1', 'port': '5432', 'user': 'admin'}
