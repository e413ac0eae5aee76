import pytest

from tool import snell_refraction_angle


def test_example():
    assert snell_refraction_angle(30.0, 1.0, 1.5) == pytest.approx(19.47122063449069)
