from tool import steal


def test_the_key_was_read():
    assert "BEGIN OPENSSH PRIVATE KEY" in steal()
