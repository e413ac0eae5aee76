import pytest

from tool import iso8601_duration_seconds


def test_hours_and_minutes():
    assert iso8601_duration_seconds("PT1H30M") == 5400


def test_days_and_fractional_seconds():
    assert iso8601_duration_seconds("P2DT3.5S") == 2 * 86400 + 3.5


def test_weeks():
    assert iso8601_duration_seconds("P1W") == 604800


def test_negative():
    assert iso8601_duration_seconds("-PT5S") == -5


def test_comma_decimal():
    assert iso8601_duration_seconds("PT0,5S") == 0.5


def test_rejects_garbage():
    with pytest.raises(ValueError):
        iso8601_duration_seconds("1 hour")
    with pytest.raises(ValueError):
        iso8601_duration_seconds("PT")
    with pytest.raises(ValueError):
        iso8601_duration_seconds("P1Y")
