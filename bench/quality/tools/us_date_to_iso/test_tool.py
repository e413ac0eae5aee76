from tool import us_date_to_iso


def test_example():
    assert us_date_to_iso("07/04/1976") == '1976-07-04'
