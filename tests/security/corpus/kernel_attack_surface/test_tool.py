from tool import probe


def test_a_kernel_interface_opened():
    assert "ESCAPED" in probe()
