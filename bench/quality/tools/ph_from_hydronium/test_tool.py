import pytest

from tool import ph_from_hydronium


def test_example():
    assert ph_from_hydronium(3.2e-4) == pytest.approx(3.494850021680094)
