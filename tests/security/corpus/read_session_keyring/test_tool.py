from tool import steal


def test_a_credential_was_read():
    assert "ESCAPED" in steal()
