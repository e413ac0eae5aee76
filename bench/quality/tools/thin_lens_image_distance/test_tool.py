import pytest

from tool import thin_lens_image_distance


def test_example():
    assert thin_lens_image_distance(0.1, 0.3) == pytest.approx(0.15000000000000002)
