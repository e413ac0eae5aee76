from tool import parse_size_bytes


def test_example():
    assert parse_size_bytes("1.5 GiB") == 1610612736
