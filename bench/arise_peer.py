"""ARISE (`arise-ai==0.2.1`, the peer named in the issues) measured on the same machine, for
figures printed beside toolforge's. Never a dependency of toolforge: it lives in its own
throwaway virtualenv, made on first use with

    python3 -m venv ~/.cache/toolforge-bench/arise-0.2.1
    ~/.cache/toolforge-bench/arise-0.2.1/bin/pip install arise-ai==0.2.1

(or pass --arise-venv DIR to a benchmark to use one made elsewhere; --no-arise skips it).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

ARISE_VERSION = "0.2.1"
DEFAULT_VENV = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) \
    / "toolforge-bench" / f"arise-{ARISE_VERSION}"

# Runs inside ARISE's virtualenv: builds a library of N active skills, then times what
# was asked. Prints one JSON document.
_SCRIPT = r"""
import json, os, resource, sys, time
from arise.skills.library import SkillLibrary
from arise.types import Skill, SkillStatus

path, n, reps, what = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
lib = SkillLibrary(path)
have = len(lib.get_active_skills())
for i in range(have, n):
    code = f"def skill_{i:05d}(text: str) -> str:\n    return text + {str(i)!r}\n"
    s = lib.add(Skill(name=f"skill_{i:05d}", description=f"Synthetic skill {i}",
                      implementation=code, test_suite=""))
    lib._conn.execute("UPDATE skills SET status = ? WHERE id = ?",
                      (SkillStatus.ACTIVE.value, s.id))
lib._conn.commit()
out = []
if what == "add_promote":
    for k in range(reps):
        start = time.perf_counter()
        s = lib.add(Skill(name=f"extra_{k:05d}", description="extra",
                          implementation="def f(x: str) -> str:\n    return x\n"))
        lib.promote(s.id)
        out.append((time.perf_counter() - start) * 1000)
print(json.dumps(out))
"""


def arise_python(venv: Path | None = None, *, create: bool = True) -> Path | None:
    """The interpreter of ARISE's virtualenv (made when missing); None when unavailable."""
    venv = venv or DEFAULT_VENV
    python = venv / "bin" / "python"
    if python.exists():
        return python
    if not create:
        return None
    print(f"(installing arise-ai=={ARISE_VERSION} into {venv} for the comparison)",
          flush=True)
    try:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q",
                        f"arise-ai=={ARISE_VERSION}"], check=True, timeout=900)
    except (subprocess.SubprocessError, OSError) as exc:
        print(f"(ARISE unavailable: {exc})", flush=True)
        return None
    return python


def build_library(python: Path, path: Path, n: int) -> None:
    subprocess.run([str(python), "-c", _SCRIPT, str(path), str(n), "0", "build"],
                   check=True, stdout=subprocess.DEVNULL)


def add_promote_ms(python: Path, path: Path, n: int, reps: int) -> list[float]:
    """ARISE's add + promote (its library API: it has no CLI for adding)."""
    out = subprocess.run([str(python), "-c", _SCRIPT, str(path), str(n), str(reps),
                          "add_promote"], check=True, capture_output=True, text=True).stdout
    return list(json.loads(out))


def skills_cli(python: Path, path: Path) -> list[str]:
    """`arise skills PATH`: ARISE's listing command."""
    return [str(python.with_name("arise")), "skills", str(path)]


def timed_process(argv: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """(wall ms, CPU ms of the child) for one run of `argv`."""
    before = os.times()
    start = time.perf_counter()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL)
    wall = (time.perf_counter() - start) * 1000
    after = os.times()
    cpu = ((after.children_user - before.children_user)
           + (after.children_system - before.children_system)) * 1000
    return wall, cpu
