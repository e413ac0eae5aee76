from tool import extract_emails


def test_example():
    assert extract_emails("Mail Bob@Example.com or ops@example.org; bob@example.com again") == ['bob@example.com', 'ops@example.org']
