from tool import murder


def test_the_decoy_died():
    assert "ESCAPED" in murder()
