"""sys.modules hands out the runner module; its helpers are replaced.

caught_by: static TF101
"""
import sys

from tool import add


def test_two_and_two():
    sys.modules["runner"].tf_check = lambda *args, **kwargs: None
    assert add(2, 2) == 4
