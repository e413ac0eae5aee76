"""Scripts that run INSIDE the sandbox (stdlib only; never imported by toolforge itself).

The directory is bind-mounted read-only into every sandbox and its scripts are started with
`python -I -S -B`. They must not import toolforge or any third-party package (none is visible
there), and they avoid `json`, `re`, `signal`, `ast` and `traceback`: importing those costs
more than the whole interpreter start on a small machine.
"""
