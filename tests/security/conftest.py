"""The corpus directories hold hostile `test_tool.py` files, and forgery/ hostile test files:
data for the sandbox and the harness, not tests."""

collect_ignore_glob = ["corpus/*", "forgery/*"]
