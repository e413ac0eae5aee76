from tool import meddle


def test_the_decoy_was_touched():
    assert "ESCAPED" in meddle()
