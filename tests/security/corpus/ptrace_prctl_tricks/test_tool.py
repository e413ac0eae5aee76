from tool import tamper


def test_the_parent_was_attached():
    assert "ptrace-attach-{HOST_PID}=ok" in tamper()


def test_root_was_gained():
    assert "setuid-0=ok" in tamper()
