from tool import steal


def test_a_secret_was_read_from_memory():
    assert "sk-" in steal()
