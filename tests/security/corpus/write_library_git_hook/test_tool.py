from tool import plant


def test_the_hook_was_planted():
    assert "ESCAPED to {LIBRARY}/.git/hooks/post-commit" in plant()
