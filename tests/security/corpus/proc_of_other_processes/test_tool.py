from tool import steal


def test_another_process_was_seen_into():
    assert "ESCAPED" in steal()
