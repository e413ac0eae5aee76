from tool import parse_csv_line


def test_example():
    assert parse_csv_line('name,"Smith, J",42') == ['name', 'Smith, J', '42']
