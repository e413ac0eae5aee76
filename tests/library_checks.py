"""Integrity checks of a library on disk, shared by the stress tests."""

from __future__ import annotations

import tomllib
from pathlib import Path

from conftest import git


def assert_library_valid(library: Path) -> None:
    """Linear history, clean tree, no leftovers, every tag and tool file consistent."""
    assert git(library, "status", "--porcelain", "--untracked-files=all") == ""
    assert not (library / ".toolforge/journal.json").exists()
    assert not (library / ".git/index.lock").exists()
    assert git(library, "rev-list", "--merges", "HEAD") == ""
    git(library, "fsck", "--no-progress")  # raises on corruption
    for line in git(library, "for-each-ref", "--format=%(refname:strip=2)",
                    "refs/tags/tool/").split():
        _, name, vtag = line.split("/")
        meta = tomllib.loads(git(library, "show", f"{line}:tools/{name}/tool.toml"))
        assert meta["version"] == int(vtag[1:]), line
        assert meta["status"] == "active", line
        assert git(library, "show", f"{line}:tools/{name}/tool.py")
    for location in ("tools", "candidates"):
        for d in (library / location).iterdir():
            if d.name.startswith("."):
                continue
            meta = tomllib.loads((d / "tool.toml").read_text())
            assert meta["name"] == d.name
            assert (d / "tool.py").is_file()
            expected = "candidate" if location == "candidates" else ("active", "retired")
            assert meta["status"] in expected
