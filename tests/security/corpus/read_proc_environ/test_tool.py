from tool import steal


def test_an_api_key_was_found():
    assert "sk-" in steal()
