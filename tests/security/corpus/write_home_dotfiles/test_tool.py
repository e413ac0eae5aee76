from tool import plant


def test_the_dotfiles_were_written():
    assert "ESCAPED to {HOME}/.bashrc" in plant()
