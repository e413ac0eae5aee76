"""The one retrieval index: hybrid ranking, hit scores, persistence that follows the
library's commits incrementally, the BM25-only fallback, and the dense model offline."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from conftest import PYTHON, run_cli, write_tool_dir
from toolforge.retrieval import ToolIndex, tool_doc
from toolforge.retrieval.dense import Embedder
from toolforge.retrieval.text import tokens
from toolforge.tools.contract import load_tool_source

CONVERT = '''
def {name}(value: float) -> float:
    """Convert a temperature from degrees {a} to {b}.

    Args:
        value: the temperature in degrees {a}.

    Returns:
        The temperature in {b}.
    """
    return value
'''


def _doc(name: str, a: str, b: str) -> Any:
    return tool_doc(name, 1, load_tool_source(CONVERT.format(name=name, a=a, b=b)))


def test_word_order_separates_look_alike_tools() -> None:
    assert {"celsius to", "to kelvin"} <= set(tokens("Convert Celsius to kelvin"))
    assert not {"kelvin to", "to celsius"} & set(tokens("Convert Celsius to kelvin"))
    assert "25" not in tokens("convert 25 degrees")  # a problem's values are not its words
    index = ToolIndex.from_docs([_doc("kelvin_to_celsius", "kelvin", "Celsius"),
                                 _doc("celsius_to_kelvin", "Celsius", "kelvin"),
                                 _doc("km_to_miles", "kilometres", "miles")])
    hits = index.search("convert a temperature from Celsius to kelvin", k=3)
    assert [h.tool for h in hits][:2] == ["celsius_to_kelvin", "kelvin_to_celsius"]
    assert hits[0].score > hits[1].score > hits[2].score
    assert {"name", "docstring"} <= set(hits[0].views)
    assert index.search("convert kelvin into Celsius", k=1)[0].tool == "kelvin_to_celsius"
    assert index.search("", k=3) == [] and index.search("x", k=0) == []


def test_index_follows_the_library_incrementally(example_library: Path, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    index = ToolIndex.for_library(example_library)
    hits = index.search("convert a length between units", k=3)
    assert hits[0].tool == "convert_units" and hits[0].score > hits[1].score
    assert index.mode == "hybrid" and "wordllama" in index.status
    embedded: list[list[str]] = []
    original = Embedder.embed

    def spy(self: Embedder, texts: list[str]) -> Any:
        embedded.append(list(texts))
        return original(self, texts)

    monkeypatch.setattr(Embedder, "embed", spy)
    assert run_cli("retire", "sha256_hex", "-L", example_library).exit_code == 0
    names = [h.tool for h in index.search("sha256 hash of a text", k=3)]
    assert "sha256_hex" not in names
    assert embedded == [["sha256 hash of a text"]]  # removal re-embeds nothing
    embedded.clear()
    d = write_tool_dir(tmp_path, "shout")
    assert run_cli("add", d, "-L", example_library).exit_code == 0
    assert run_cli("promote", "shout", "-L", example_library).exit_code == 0
    assert index.search("upper-case a text", k=1)[0].tool == "shout"
    doc = index.doc("shout")
    assert doc is not None
    batches = [b for b in embedded if b != ["upper-case a text"]]
    assert batches == [[doc.views[v] for v in ("name", "signature", "docstring", "examples")
                        if v in doc.views]]  # only the new tool's views were embedded
    # another process reads the persisted index as it is: no rebuild, same answer
    state = example_library / ".toolforge/retrieval"
    generation = (state / "current").read_text()
    probe = ("import json, sys; from pathlib import Path; from toolforge.retrieval import "
             "ToolIndex; print(json.dumps([h.tool for h in ToolIndex.for_library("
             "Path(sys.argv[1])).search('upper-case a text', 2)]))")
    out = subprocess.run([PYTHON, "-c", probe, str(example_library)], capture_output=True,
                         text=True, check=True).stdout
    assert json.loads(out)[0] == "shout"
    assert (state / "current").read_text() == generation
    assert sorted(p.name for p in state.iterdir() if p.name.startswith("g-")) == [generation]


def test_a_broken_index_is_rebuilt_and_bm25_serves_without_the_dense_model(
        example_library: Path) -> None:
    ToolIndex.for_library(example_library).refresh()
    state = example_library / ".toolforge/retrieval"
    generation = (state / "current").read_text()
    (state / generation / "manifest.json").write_text("{not json")
    probe = ("import json, sys; from pathlib import Path; from toolforge.retrieval import "
             "ToolIndex; i = ToolIndex.for_library(Path(sys.argv[1])); "
             "print(json.dumps([i.mode, i.status, [h.tool for h in i.search("
             "'convert a length between units', 3)]]))")
    for dense in ("on", "off"):
        out = subprocess.run([PYTHON, "-c", probe, str(example_library)], capture_output=True,
                             text=True, check=True,
                             env={**_env(), "TOOLFORGE_DENSE": dense}).stdout
        mode, status, names = json.loads(out)
        assert names[0] == "convert_units"
        if dense == "off":
            assert mode == "bm25" and "disabled by TOOLFORGE_DENSE" in status
        else:
            assert mode == "hybrid"


def test_the_agents_top_k_comes_from_the_index(example_library: Path) -> None:
    from toolforge.service.evolution_service import EvolutionService

    service = EvolutionService(example_library)
    try:
        with service.toolbox() as box:
            assert [t.name for t in box.select("sha-256 digest of some text", 1)] == [
                "sha256_hex"]
            assert len(box.select("anything", 8)) == 3  # no more tools than k: all of them
    finally:
        service.close()


def _env() -> dict[str, str]:
    import os

    return dict(os.environ)


def _isolated_network_prefix() -> list[str] | None:
    """A command prefix that runs a process in a new network namespace, or None."""
    for prefix in (["unshare", "-rn"], ["bwrap", "--dev-bind", "/", "/", "--unshare-net"]):
        if shutil.which(prefix[0]) is None:
            continue
        try:
            done = subprocess.run([*prefix, "true"], capture_output=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if done.returncode == 0:
            return prefix
    return None


def test_dense_model_loads_with_networking_disabled(tmp_path: Path) -> None:
    prefix = _isolated_network_prefix()
    if prefix is None:
        pytest.skip("no way to make a network namespace here (unshare -rn, bwrap)")
    probe = """
import json, socket
from toolforge.retrieval.dense import dense_status, load_embedder
from toolforge.retrieval import text_similarity
interfaces = sorted(name for _, name in socket.if_nameindex())
model = load_embedder()
print(json.dumps({
    "interfaces": interfaces, "loaded": model is not None, "status": dense_status(),
    "close": text_similarity("convert Celsius to kelvin", "temperature conversion to K"),
    "far": text_similarity("convert Celsius to kelvin", "hash a string with sha256"),
}))
"""
    # An empty home: no download cache to find; the weights must come from the wheel.
    env = {**_env(), "HOME": str(tmp_path), "XDG_CACHE_HOME": str(tmp_path / "cache"),
           "HF_HUB_OFFLINE": "0"}
    done = subprocess.run([*prefix, PYTHON, "-c", probe], capture_output=True, text=True,
                          timeout=300, env=env)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["interfaces"] == ["lo"]  # really no network in there
    assert result["loaded"], result["status"]
    assert "offline" in result["status"]
    assert result["close"] > result["far"] + 0.2
    assert not (tmp_path / ".cache").exists() and not (tmp_path / "cache").exists()


def test_stats_says_which_retrieval_serves(example_library: Path) -> None:
    for dense, mode in (("on", "hybrid"), ("off", "bm25")):
        env = {**_env(), "TOOLFORGE_DENSE": dense, "TOOLFORGE_NO_DAEMON": "1"}
        done = subprocess.run([PYTHON, "-m", "toolforge", "stats", "-L", str(example_library),
                               "--json"], capture_output=True, text=True, timeout=300, env=env)
        assert done.returncode == 0, done.stderr
        result = json.loads(done.stdout)["result"]
        assert result["retrieval"] == mode
        text = subprocess.run([PYTHON, "-m", "toolforge", "stats", "-L", str(example_library)],
                              capture_output=True, text=True, timeout=300, env=env).stdout
        said = "BM25 only: the dense model is disabled by TOOLFORGE_DENSE" if dense == "off" \
            else "retrieval: hybrid, BM25 + wordllama"
        assert said in " ".join(text.split())
