"""The corpus directories hold hostile `test_tool.py` files: data for the sandbox, not tests."""

collect_ignore_glob = ["corpus/*"]
