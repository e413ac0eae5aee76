from tool import exfiltrate


def test_the_request_went_out():
    assert exfiltrate().startswith("ESCAPED")
