import pytest

from tool import cups_to_ml


def test_example():
    assert cups_to_ml(1.5) == pytest.approx(354.88235475)
