import pytest

from tool import neutralization_volume


def test_example():
    assert neutralization_volume(0.1, 25.0, 0.2, acid_protons=2) == pytest.approx(25.0)
