from tool import exfiltrate


def test_the_abstract_socket_was_reached():
    assert exfiltrate() == "ESCAPED: sent"
