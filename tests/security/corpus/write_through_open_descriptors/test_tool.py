from tool import scavenge


def test_an_inherited_descriptor_wrote_outside():
    assert "ESCAPED" in scavenge()
