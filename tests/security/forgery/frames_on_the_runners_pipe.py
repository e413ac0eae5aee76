"""Forged "passed" frames written straight onto every descriptor of the runner.

caught_by: static TF101
"""
import json
import os

from tool import add


def test_two_and_two():
    frame = json.dumps({"t": "end", "outcome": "returned", "g": 0}).encode()
    for fd in range(3, 64):
        try:
            os.write(fd, len(frame).to_bytes(4, "big") + frame)
        except OSError:
            pass
    assert add(2, 2) == 4
