from tool import ipv4_to_int


def test_example():
    assert ipv4_to_int("192.168.1.20") == 3232235796
