import pytest

from tool import weighted_mean


def test_example():
    assert weighted_mean([80.0, 90.0, 70.0], [0.2, 0.5, 0.3]) == pytest.approx(82.0)
