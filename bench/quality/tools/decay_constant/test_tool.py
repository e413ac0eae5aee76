import pytest

from tool import decay_constant


def test_example():
    assert decay_constant(1600.0) == pytest.approx(0.00043321698784996583)
