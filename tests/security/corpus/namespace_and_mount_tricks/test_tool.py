from tool import tamper


def test_a_mount_succeeded():
    assert "mount-tmpfs=ok" in tamper() or "remount-rw=ok" in tamper()
