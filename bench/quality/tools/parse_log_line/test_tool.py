from tool import parse_log_line


def test_example():
    assert parse_log_line("2024-05-01 12:00:03 [ERROR] disk full") == {'date': '2024-05-01', 'time': '12:00:03', 'level': 'ERROR', 'message': 'disk full'}
