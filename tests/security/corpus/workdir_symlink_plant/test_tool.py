from tool import plant


def test_the_hook_was_written_through_a_link():
    assert "ESCAPED to results.json" in plant()
