import pytest

from tool import pounds_to_kg


def test_example():
    assert pounds_to_kg(150) == pytest.approx(68.0388555)
