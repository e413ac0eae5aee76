"""Entry point inside the sandbox: `python -I -S -B main.py worker|runner IN_FD OUT_FD`.

Kept tiny on purpose: a script run as __main__ is compiled on every start, while imported
modules load from their .pyc (runner.py alone takes ~9 ms to compile here).
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
role = sys.argv[1] if len(sys.argv) == 4 else ""
if role == "worker":
    import worker as program
elif role == "runner":
    import runner as program
else:
    sys.exit("usage: main.py worker|runner IN_FD OUT_FD")
del sys.path[0]
sys.exit(program.main(int(sys.argv[2]), int(sys.argv[3])))
