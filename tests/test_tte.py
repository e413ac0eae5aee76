"""Test-time tool evolution through the CLI, with the scripted model, the real sandbox, a
real git library and the real retrieval index (bm25s + wordllama)."""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path
from typing import Any

import pytest

import tte_script
from conftest import git, run_cli, write_tool_dir
from toolforge.library.settings import TteSettings
from toolforge.testing.scripted_model import ScriptedModelServer

SCIENCE = Path(__file__).resolve().parents[1] / "src/toolforge/tte/data/science.jsonl"


@pytest.fixture
def scripted(monkeypatch: pytest.MonkeyPatch):
    """A scripted model answering every role under its own model name."""
    servers: list[ScriptedModelServer] = []

    def start(**kwargs: Any) -> ScriptedModelServer:
        server = ScriptedModelServer(tte_script.script(**kwargs))
        url = server.start()
        servers.append(server)
        monkeypatch.setenv("TOOLFORGE_API_BASE", url)
        monkeypatch.setenv("TOOLFORGE_API_KEY", "scripted")
        for role, var in tte_script.ROLES.items():
            monkeypatch.setenv(var, f"openai/{role}")
        return server

    yield start
    for server in servers:
        server.stop()


def problems(path: Path, ids: list[str]) -> Path:
    lines = [line for line in SCIENCE.read_text().splitlines()
             if any(f'"id": "{i}"' in line for i in ids)]
    path.write_text("\n".join(lines) + "\n")
    return path


def meta(library: Path, name: str) -> dict[str, Any]:
    return tomllib.loads((library / "tools" / name / "tool.toml").read_text())


def ok(result: Any) -> Any:
    assert result.exit_code == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.json


def test_tte_zero_creates_reuses_splits_and_refuses_duplicates(
        library: Path, scripted, tmp_path: Path) -> None:
    scripted()
    out = tmp_path / "results.json"
    summary = ok(run_cli("tte", "run", SCIENCE, "-L", library, "--auto-promote", "-o", out,
                         "--json"))
    assert summary["mode"] == "zero"
    by_id = {r["problem_id"]: r for r in summary["results"]}
    assert [r["correct"] for r in summary["results"]] == [True] * 8
    assert summary["accuracy"] == 1.0
    assert {g["group"]: g["accuracy"] for g in summary["groups"]} == {
        "chemistry": 1.0, "gases": 1.0, "units": 1.0}
    # created, then reused by later problems
    first = by_id["units-1"]["subgoals"][0]
    assert first["retrieval"] == "miss" and first["source"] == "synthesized"
    assert first["synthesis"]["status"] == "registered" and first["tool"] == "celsius_to_kelvin"
    second = by_id["units-2"]["subgoals"][0]
    assert second["retrieval"] == "hit" and second["source"] == "retrieved"
    assert second["candidates"][0]["tool"] == "celsius_to_kelvin"
    assert second["candidates"][0]["score"] >= summary["params"]["tau_ret"]
    assert [s["source"] for s in by_id["gas-2"]["subgoals"]] == ["retrieved", "retrieved"]
    assert summary["trr"]["overall"]["2"] > 0
    # a duplicate refused by behaviour although its name, words and parameter differ
    dup = by_id["units-4"]["subgoals"][0]
    assert dup["source"] == "duplicate" and dup["tool"] == "celsius_to_kelvin"
    refused = dup["synthesis"]["refused"][0]
    assert (refused["new"], refused["existing"]) == ("absolute_temperature",
                                                     "celsius_to_kelvin")
    assert refused["identical"] and refused["behaviour"] == 1.0
    assert refused["text"] < 0.6  # the words alone would not have refused it
    assert not (library / "tools/absolute_temperature").exists()
    # atomic split: verified cells with their lineage; the composite they express is dropped
    chem = by_id["chem-1"]["subgoals"][0]["synthesis"]
    assert chem["cells"] == ["parse_formula", "formula_mass"] and not chem["composite_kept"]
    assert meta(library, "parse_formula")["split_from"] == "molar_mass"
    assert meta(library, "formula_mass")["provenance"]["source"] == "tte"
    assert meta(library, "formula_mass")["provenance"]["promoted_by"] == "tte --auto-promote"
    assert not (library / "tools/molar_mass").exists()
    assert [s["tool"] for s in by_id["chem-2"]["subgoals"]] == ["parse_formula",
                                                                "formula_mass"]
    # a garbage split is refused with its reason, and the composite kept
    km = by_id["units-3"]["subgoals"][0]["synthesis"]
    assert km["split"].startswith("split refused") and km["composite_kept"]
    assert meta(library, "km_to_miles")["status"] == "active"
    # every run has its trajectory with the sub-goals; the results file holds the summary
    assert json.loads(out.read_text())["run_id"] == summary["run_id"]
    listing = ok(run_cli("trajectories", "list", "-n", "50", "-L", library, "--json"))
    assert listing["count"] == 8
    shown = ok(run_cli("trajectories", "show", by_id["gas-2"]["trajectory_id"], "-L", library,
                       "--json"))
    steps = shown["metadata"]["tte"]["subgoals"]
    assert [s["tool"] for s in steps] == ["celsius_to_kelvin", "ideal_gas_pressure"]
    assert shown["source"] == "tte" and shown["reward"] == 1.0
    # stats: size over time, TRR@k, retrieval hits and misses, refusals, accuracy
    stats = ok(run_cli("stats", "-L", library, "--json"))
    assert stats["active"] == 5 and stats["by_source"] == {"tte": 5}
    assert [n for _, n in stats["sizes"]][-1] == 5
    assert stats["trr"]["overall"]["1"] == 1.0 and stats["trr"]["overall"]["2"] >= 0.6
    counts = stats["counts"]
    assert counts["dedup_refused"] == 1 and counts["split"] == 1
    assert counts["retrieval_hit"] == 5 and counts["retrieval_miss"] == 5
    assert counts["split_refused"] == 1 and counts["fallback"] == 0
    text = run_cli("stats", "-L", library)
    assert text.exit_code == 0 and "TRR@k" in text.stdout


def test_a_clone_in_other_words_is_refused_among_many_look_alikes(
        scripted, tmp_path: Path) -> None:
    """The clone's words match a dozen other tools better than the tool it duplicates: the
    dedup pool must still reach it (it has the same shape), whatever its text rank."""
    source = tmp_path / "thermometers"
    (source / "tools").mkdir(parents=True)
    (source / "candidates").mkdir()
    (source / "toolforge.toml").write_text('promotion = "auto"\n')
    tools = {"celsius_to_kelvin": (tte_script.CODE["celsius_to_kelvin"],
                                   tte_script.TESTS["celsius_to_kelvin"])}
    for i, scale in enumerate(("fahrenheit", "rankine", "reaumur", "delisle", "newton",
                               "romer", "leiden", "dalton", "wedgwood", "hooke", "fowler")):
        name = f"reading_on_{scale}_scale"
        tools[name] = (
            f"def {name}(reading_c: float) -> float:\n"
            f'    """Express a thermometer reading on the {scale} thermodynamic scale.\n\n'
            f"    Args:\n        reading_c: the reading of the thermometer, in degrees "
            f"centigrade.\n\n    Returns:\n        The same temperature on the {scale} "
            f'scale.\n    """\n    return round(reading_c * {1.1 + i * 0.37:.2f} + {i}, 9)\n',
            f"from tool import {name}\n\n\ndef test_zero():\n    assert {name}(0) == {i}\n")
    for name, (code, tests) in tools.items():
        d = source / "tools" / name
        d.mkdir()
        (d / "tool.py").write_text(code.strip() + "\n")
        (d / "test_tool.py").write_text(tests)
        (d / "tool.toml").write_text(f'name = "{name}"\nversion = 1\nstatus = "active"\n'
                                     f'description = "-"\nentrypoint = "{name}"\n')
    library = tmp_path / "lib"
    ok(run_cli("init", library, "--from", source, "--json"))
    scripted()
    result = ok(run_cli("solve", "A thermometer reads 37 degrees centigrade. What is that on "
                        "the absolute temperature scale?", "--expected", "310.15",
                        "--auto-promote", "-L", library, "--json"))
    (step,) = result["subgoals"]
    assert step["source"] == "duplicate" and step["tool"] == "celsius_to_kelvin"
    assert step["synthesis"]["refused"][0]["existing"] == "celsius_to_kelvin"
    assert result["correct"] and not (library / "tools/absolute_temperature").exists()


def test_garbage_decompositions_retry_then_solve_without(library: Path, scripted) -> None:
    scripted(garbage_decomposition="Boil", retry_once="100 degrees",
             absurd_decomposition="Juggle")
    result = ok(run_cli("solve", "Boil an egg: how many minutes?", "-L", library, "--json"))
    assert result["decomposition"] == "fallback"
    assert len(result["decomposition_errors"]) == 2
    (only,) = result["subgoals"]
    assert only["fallback"] and only["source"] == "fallback" and only["ok"]
    assert "not decomposed" in only["error"]
    # nothing is synthesized for a whole problem
    assert not [p for p in (library / "tools").iterdir() if not p.name.startswith(".")]
    shown = ok(run_cli("trajectories", "show", result["trajectory_id"], "-L", library,
                       "--json"))
    assert shown["metadata"]["tte"]["decomposition"] == "fallback"
    # an empty decomposition is asked again once, then used
    text = run_cli("solve", "Convert 100 degrees Celsius to kelvin.", "-L", library,
                   "--expected", "373.15", "--auto-promote")
    assert text.exit_code == 0, text.stdout + text.stderr
    assert "asked twice: no sub-goals" in text.stdout and "correct" in text.stdout
    # the same from Python
    from toolforge import Forge

    with Forge(library=library, auto_evolve=False) as forge:
        solved = forge.solve("Boil water for tea: how long?", expected=42)
    assert solved.decomposition == "fallback" and solved.correct
    assert solved.subgoals[0].fallback and solved.answer == "42"
    # well-formed but absurd: too many sub-goals, then a sub-goal that needs its own result
    absurd = ok(run_cli("solve", "Juggle twenty numbers.", "-L", library, "--json"))
    assert absurd["decomposition"] == "fallback"
    first, second = absurd["decomposition_errors"]
    assert "20 sub-goals, more than the 8 allowed" in first
    assert "uses $1, which is not an earlier sub-goal" in second
    assert absurd["subgoals"][0]["fallback"] and absurd["answer"] == "42"
    stats = ok(run_cli("stats", "-L", library, "--json"))
    assert stats["counts"]["decomposition_retry"] == 4
    assert stats["counts"]["decomposition_fallback"] == 3


def test_capacity_retires_the_least_used_and_spares_the_pinned(
        library: Path, scripted, tmp_path: Path) -> None:
    from toolforge import Forge

    for name, body in (("shout", "return text.upper()"), ("whisper", "return text.lower()"),
                       ("mirror", "return text[::-1]")):
        expected = {"shout": "ABC", "whisper": "abc", "mirror": "cba"}[name]
        d = write_tool_dir(tmp_path / "src", name, tests=(
            f"from tool import {name}\n\n\ndef test_abc():\n"
            f"    assert {name}('abc') == {expected!r}\n"))
        (d / "tool.py").write_text((d / "tool.py").read_text().replace(
            "return text.upper()", body))
        ok(run_cli("add", d, "-L", library, "--json"))
        ok(run_cli("promote", name, "-L", library, "--json"))
    with Forge(library=library, auto_evolve=False) as forge:
        for name, calls in (("shout", 3), ("whisper", 1)):
            for _ in range(calls):
                forge.call(name, text="x")
    ok(run_cli("pin", "mirror", "-L", library, "--json"))
    assert meta(library, "mirror")["pinned"] is True
    assert run_cli("pin", "mirror", "-L", library, "--json").exit_code == 1
    plan = ok(run_cli("prune", "--capacity", "2", "--dry-run", "-L", library, "--json"))
    assert [i["tool"] for i in plan["retire"]] == ["whisper"] and plan["pinned"] == ["mirror"]
    assert meta(library, "whisper")["status"] == "active"  # a dry run changes nothing
    text = run_cli("prune", "--capacity", "2", "--dry-run", "-L", library)
    assert "would retire whisper" in " ".join(text.stdout.split())
    scripted()
    summary = ok(run_cli("tte", "run", problems(tmp_path / "p.jsonl", ["units-1"]), "-L",
                         library, "--capacity", "3", "--auto-promote", "-o",
                         tmp_path / "r.json", "--json"))
    assert summary["mode"] == "continue"
    assert summary["results"][0]["created"] == ["celsius_to_kelvin"]
    assert summary["results"][0]["pruned"] == ["whisper"]
    assert meta(library, "whisper")["status"] == "retired"  # archived in git, not deleted
    assert "retire whisper v1" in git(library, "log", "--format=%s")
    assert meta(library, "mirror")["status"] == "active" and meta(library, "shout")[
        "status"] == "active"
    assert summary["counts"]["pruned"] == 1
    ok(run_cli("unpin", "mirror", "-L", library, "--json"))
    assert "pinned" not in meta(library, "mirror")


def test_prune_ranks_by_successful_calls_then_recency(library: Path, tmp_path: Path) -> None:
    for name in ("old_news", "fresh", "busy", "idle"):
        ok(run_cli("add", write_tool_dir(tmp_path / "src", name), "-L", library, "--json"))
        ok(run_cli("promote", name, "-L", library, "--json"))
    # equal hits: the one used longest ago goes first; failed calls are no hits
    for name in ("old_news", "fresh", "busy", "busy"):
        ok(run_cli("call", name, "-a", "text=x", "-L", library, "--json"))
    assert run_cli("call", "idle", "-a", "text=7", "-L", library, "--json").exit_code == 1
    plan = ok(run_cli("prune", "--capacity", "1", "--dry-run", "-L", library, "--json"))
    assert [i["tool"] for i in plan["retire"]] == ["idle", "old_news", "fresh"]
    assert plan["retire"][0]["hits"] == 0 and plan["retire"][1]["hits"] == 1
    done = ok(run_cli("prune", "--capacity", "2", "-L", library, "--json"))
    assert [i["tool"] for i in done["retire"]] == ["idle", "old_news"]
    listing = ok(run_cli("list", "--status", "all", "-L", library, "--json"))
    status = {t["tool"]: t["status"] for t in listing["tools"]}
    assert status == {"old_news": "retired", "idle": "retired", "fresh": "active",
                      "busy": "active"}


def test_tte_adapt_reports_transferred_and_evolved_reuse(
        library: Path, scripted, tmp_path: Path) -> None:
    source = tmp_path / "physics"
    ok(run_cli("init", source, "--json"))
    for name in ("celsius_to_kelvin", "km_to_miles"):
        d = write_tool_dir(tmp_path / "seed", name, tte_script.CODE[name],
                           tte_script.TESTS[name])
        ok(run_cli("add", d, "-L", source, "--json"))
        ok(run_cli("promote", name, "-L", source, "--json"))
    # another library is untrusted: a tool.py that links out of it (to a secret that is
    # valid Python) or is a FIFO is refused before anything is read
    secret = tmp_path / "secret.py"
    secret.write_text(tte_script.CODE["km_to_miles"].replace("km_to_miles", "leak")
                      + '\nAPI_KEY = "TOPSECRET-7f3a"\n')
    meta_toml = (source / "tools/km_to_miles/tool.toml").read_text()
    for name in ("leak", "hang"):
        (source / "tools" / name).mkdir()
        (source / "tools" / name / "tool.toml").write_text(
            meta_toml.replace("km_to_miles", name))
    (source / "tools/leak/tool.py").symlink_to(secret)
    os.mkfifo(source / "tools/hang/tool.py")
    scripted(wrong_gas_split=True)
    summary = ok(run_cli("tte", "run", problems(tmp_path / "p.jsonl", ["units-2", "gas-1"]),
                         "-L", library, "--from-library", source, "--auto-promote", "-o",
                         tmp_path / "r.json", "--json"))
    assert summary["mode"] == "adapt"
    assert summary["transferred"] == ["celsius_to_kelvin", "km_to_miles"]
    assert meta(library, "km_to_miles")["provenance"]["source"] == "transfer"
    assert "TOPSECRET" not in git(library, "log", "--all", "-p")
    assert [r["subgoals"][0]["source"] for r in summary["results"]] == ["retrieved",
                                                                        "synthesized"]
    # verified cells that do not reproduce the composite: all three are kept, with lineage
    gas = summary["results"][1]["subgoals"][0]
    assert gas["synthesis"]["cells"] == ["nrt_product", "divide"]
    assert gas["synthesis"]["composite_kept"] and gas["tool"] == "ideal_gas_pressure"
    assert summary["results"][1]["correct"]
    assert meta(library, "divide")["split_from"] == "ideal_gas_pressure"
    assert meta(library, "ideal_gas_pressure")["status"] == "active"
    trr = summary["trr"]
    assert (trr["transferred"], trr["evolved"]) == (2, 3)
    assert trr["trans"]["1"] == 0.5 and trr["evol"]["1"] == pytest.approx(1 / 3)
    stats = ok(run_cli("stats", "--run", summary["run_id"][:10], "-L", library, "--json"))
    assert stats["run"]["mode"] == "adapt"
    assert stats["trr"]["trans"] == trr["trans"] and stats["trr"]["evol"] == trr["evol"]
    assert stats["counts"]["transferred"] == 2
    assert run_cli("stats", "--run", "nope", "-L", library).exit_code == 1


def test_a_step_whose_tool_fails_r_times_falls_back_to_reasoning(
        library: Path, scripted, tmp_path: Path) -> None:
    d = write_tool_dir(tmp_path / "seed", "celsius_to_kelvin",
                       tte_script.CODE["celsius_to_kelvin"], tte_script.TESTS["celsius_to_kelvin"])
    ok(run_cli("add", d, "-L", library, "--json"))
    ok(run_cli("promote", "celsius_to_kelvin", "-L", library, "--json"))
    scripted(below_absolute_zero=True)
    result = ok(run_cli("solve", "Convert -300 degrees Celsius to kelvin.", "-L", library,
                        "--json"))
    (step,) = result["subgoals"]
    assert step["retrieval"] == "hit" and step["candidates"][0]["tool"] == "celsius_to_kelvin"
    # R = 3 calls of the retrieved tool, every one refused, then plain reasoning
    assert [c["ok"] for c in step["calls"]] == [False, False, False]
    assert step["attempts"] == 3 and step["fallback"] and step["source"] == "fallback"
    assert "after 3 attempt(s)" in step["error"] and step["result"] == 42
    assert result["answer"] == "42" and result["tools_used"] == []
    shown = ok(run_cli("trajectories", "show", result["trajectory_id"], "-L", library,
                       "--json"))
    recorded = shown["metadata"]["tte"]["subgoals"][0]
    assert recorded["fallback"] and "after 3 attempt(s)" in recorded["error"]
    # failed calls are no hits; the fallback is counted
    stats = ok(run_cli("stats", "-L", library, "--json"))
    assert stats["counts"]["fallback"] == 1 and stats["trr"]["overall"]["1"] == 0.0
    text = run_cli("solve", "Convert -300 degrees Celsius to kelvin.", "-L", library)
    assert text.exit_code == 0 and "plain reasoning" in text.stdout


def test_a_problem_the_model_cannot_serve_still_leaves_its_trajectory(
        library: Path, scripted) -> None:
    scripted()  # no rule decomposes this problem: the model answers 500 until it gives up
    result = run_cli("solve", "Nobody scripted this problem.", "--expected", "1", "-L",
                     library, "--json")
    assert result.exit_code == 1 and "agent model" in result.json["message"]
    listing = ok(run_cli("trajectories", "list", "-L", library, "--json"))
    (recorded,) = listing["trajectories"]
    shown = ok(run_cli("trajectories", "show", recorded["id"], "-L", library, "--json"))
    assert shown["source"] == "tte" and shown["error"].startswith("interrupted: agent model")
    assert shown["success"] is None  # an outage is no verdict on the problem
    assert shown["metadata"]["tte"]["interrupted"]


def test_bad_problem_files_and_options_are_user_errors(library: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"problem": "x", "expect": 3}\n')
    result = run_cli("tte", "run", bad, "-L", library, "--json")
    assert result.exit_code == 1 and "bad.jsonl:1" in result.json["message"]
    both = tmp_path / "both.jsonl"
    both.write_text('{"problem": "x", "task": "y"}\n')
    assert run_cli("tte", "run", both, "-L", library).exit_code == 1
    assert run_cli("tte", "run", tmp_path / "missing.jsonl", "-L", library).exit_code == 1
    assert run_cli("solve", "x", "--tau-ret", "2", "-L", library).exit_code == 2
    for blank in ("", "  \n "):  # the problem itself is what is wrong, and it says so
        result = run_cli("solve", blank, "-L", library, "--json")
        assert result.exit_code == 1 and result.json["message"].startswith("the problem:")
    assert run_cli("prune", "--capacity", "0", "-L", library).exit_code == 2
    # no model configured: a clear user error, nothing written
    result = run_cli("solve", "Convert 1 degree Celsius to kelvin.", "-L", library, "--json")
    assert result.exit_code == 1 and result.json["error"] == "config"


def test_calibrate_fits_both_thresholds_by_f1_and_saves_them(
        example_library: Path, tmp_path: Path) -> None:
    bundled = (SCIENCE.parent / "pairs.jsonl").read_text().splitlines()
    wanted = ("product ~ times", "celsius_to_kelvin ~ absolute", "product vs quotient",
              "celsius_to_kelvin vs kelvin_to_celsius", "reverse_text vs echo_text",
              "magnitude vs passthrough", "round vs trunc")
    dedup = [line for line in bundled if any(w in line for w in wanted)]
    retrieval = [
        {"kind": "retrieval", "query": "convert a length from km to m", "tool": "convert_units",
         "match": True},
        {"kind": "retrieval", "query": "sha-256 digest of a text", "tool": "sha256_hex",
         "match": True},
        {"kind": "retrieval", "query": "how many seconds is PT1H30M", "match": True,
         "tool": "iso8601_duration_seconds"},
        {"kind": "retrieval", "query": "sha-256 digest of a text", "tool": "convert_units",
         "match": False},
        {"kind": "retrieval", "query": "convert a length from km to m", "tool": "sha256_hex",
         "match": False},
        {"kind": "retrieval", "query": "molar mass of water", "tool": "convert_units",
         "match": False},
    ]
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text("# labelled\n" + "\n".join([*dedup, *map(json.dumps, retrieval)]) + "\n")
    assert len(dedup) == 7
    report = ok(run_cli("calibrate", pairs, "--save", "-L", example_library, "--json"))
    assert report["retrieval"]["f1"] == 1.0 and report["dedup"]["f1"] == 1.0
    scores = {p["what"].split(" (")[0]: p["score"] for p in report["scored"]}
    tau_dup = report["dedup"]["threshold"]
    assert scores["product ~ times"] >= tau_dup > scores["product ~ quotient"]  # a*b vs a/b
    # look-alikes with the same words that agree on most samples but not all are different
    # tools: abs(x) vs x (the negative samples), round vs int (the halves)
    for pair in ("magnitude ~ magnitude_of", "round_number ~ whole_number"):
        assert scores[pair] < tau_dup and scores[pair] < TteSettings().tau_dup, pair
    differ = [p["what"] for p in report["scored"] if p["what"].startswith("magnitude ~")]
    assert "differ on" in differ[0]
    assert report["saved"] and report["commit"]
    settings = tomllib.loads((example_library / "toolforge.toml").read_text())
    assert settings["tte"]["tau_ret"] == report["retrieval"]["threshold"]
    assert settings["tte"]["tau_dup"] == tau_dup
    assert "set tte.tau_ret" in git(example_library, "log", "-1", "--format=%s")
    # a malformed pairs file names the line; nothing is saved
    pairs.write_text('{"kind": "dedup", "a": "convert_units", "duplicate": true}\n')
    bad = run_cli("calibrate", pairs, "--save", "-L", example_library, "--json")
    assert bad.exit_code == 1 and "pairs.jsonl:1" in bad.json["message"]
    # inline tools are untrusted: one that fails the static checks is never run
    hostile = ('import subprocess\n\n\ndef sneaky(a: float) -> float:\n    """Run.\n\n'
               '    Args:\n        a: x.\n\n    Returns:\n        y.\n    """\n'
               '    subprocess.run(["touch", "/tmp/owned"])\n    return a\n')
    pairs.write_text(json.dumps({"kind": "dedup", "a": "convert_units", "b": {
        "code": hostile}, "duplicate": False}) + "\n")
    bad = run_cli("calibrate", pairs, "-L", example_library, "--json")
    assert bad.exit_code == 1 and "static checks" in bad.json["message"]
    assert git(example_library, "log", "-1", "--format=%s").startswith("set tte.tau_ret")


def test_review_policy_keeps_new_tools_as_candidates_without_copies(
        library: Path, scripted) -> None:
    scripted()
    first = ok(run_cli("solve", "Convert 25 degrees Celsius to kelvin.", "--expected",
                       "298.15", "-L", library, "--json"))
    assert first["correct"] and first["subgoals"][0]["synthesis"]["status"] == "candidate"
    second = ok(run_cli("solve", "Convert 25 degrees Celsius to kelvin.", "--expected",
                        "298.15", "-L", library, "--json"))
    step = second["subgoals"][0]
    assert second["correct"] and step["retrieval"] == "miss"  # candidates are not retrieved
    assert step["synthesis"]["refused"][0]["existing"] == "celsius_to_kelvin"
    listing = ok(run_cli("list", "-L", library, "--json"))
    assert [(t["tool"], t["status"]) for t in listing["tools"]] == [
        ("celsius_to_kelvin", "candidate")]
