import pytest

from tool import mebibytes_to_bytes


def test_example():
    assert mebibytes_to_bytes(3.5) == pytest.approx(3670016.0)
