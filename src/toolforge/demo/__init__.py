"""`toolforge demo`: the whole evolution loop, offline, on a fictional company's tasks."""
