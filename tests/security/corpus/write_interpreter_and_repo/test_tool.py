from tool import plant


def test_site_packages_was_written():
    assert "ESCAPED to {SITE_PACKAGES}/tf_{MARKER}.pth" in plant()
