"""The runner's pipe opened by descriptor number with open().

caught_by: static TF201
"""
import json

from tool import add


def test_two_and_two():
    frame = json.dumps({"t": "end", "outcome": "returned", "g": 0}).encode()
    with open(4, "wb", closefd=False) as pipe:
        pipe.write(len(frame).to_bytes(4, "big") + frame)
    assert add(2, 2) == 4
