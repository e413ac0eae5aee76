import pytest

from tool import convert_units


def test_length():
    assert convert_units(1, "km", "m") == 1000
    assert convert_units(12, "in", "ft") == pytest.approx(1.0)


def test_mass():
    assert convert_units(1, "lb", "g") == pytest.approx(453.59237)


def test_temperature():
    assert convert_units(100, "C", "F") == pytest.approx(212)
    assert convert_units(0, "K", "C") == pytest.approx(-273.15)


def test_mixed_kinds_rejected():
    with pytest.raises(ValueError):
        convert_units(1, "kg", "m")


def test_unknown_unit_rejected():
    with pytest.raises(ValueError):
        convert_units(1, "parsec", "m")
