from tool import steal


def test_the_library_was_read():
    assert "tf-lib-canary-" in steal()
