"""The proxy function's globals lead to the runner's channel.

caught_by: static TF301
"""
from tool import add


def test_two_and_two():
    runner = add.__globals__
    runner["tf_check"] = lambda *args, **kwargs: None
    assert add(2, 2) == 4
