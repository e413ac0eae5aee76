from tool import steal


def test_the_hashes_were_read():
    assert "root:" in steal()
