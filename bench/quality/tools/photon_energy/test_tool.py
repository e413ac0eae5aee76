import pytest

from tool import photon_energy


def test_example():
    assert photon_energy(532.0) == pytest.approx(2.3305300457368467)
