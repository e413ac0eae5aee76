"""Retrieval and dedup figures, beside the DESIGN.md §7 budget (top-5 over 10k tools: p50
under 10 ms).

    .venv/bin/python bench/retrieval.py            # 1k and 10k synthetic tools + dedup pairs
    .venv/bin/python bench/retrieval.py --quick    # 1k only

For each size: the index build time and memory (in memory from tool views, and cold from a
real library directory through `ToolIndex.for_library`, persisted), an incremental update
after one tool changes, top-5 query latency (p50/p99), and recall@5 on a labelled query set
(paraphrases of tool descriptions, generated with the tools) for BM25 alone, dense alone
and the hybrid (reciprocal-rank fusion over the views).

Dedup: precision and recall on the bundled labelled pairs (src/toolforge/tte/data/
pairs.jsonl: clones under other names and words, and look-alikes that behave differently
such as `a*b` vs `a/b`), behaviour observed in the real sandbox, at the default tau_dup
and at the F1-optimal one.

The synthetic tools are generated, not downloaded: unit conversions, geometry, statistics,
text operations and many look-alike "company format" parsers (a realistic hard case: the
same words in hundreds of tools).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from toolforge.library.settings import DEFAULT_SETTINGS_TOML, TteSettings
from toolforge.library.store import GITIGNORE
from toolforge.retrieval import ToolDoc, ToolIndex
from toolforge.retrieval.dense import dense_status

PAIRS = Path(__file__).resolve().parents[1] / "src/toolforge/tte/data/pairs.jsonl"
BUDGET_MS = 10.0

# --- synthetic tools ------------------------------------------------------------------------

UNITS = {
    "length": ["millimetres", "centimetres", "metres", "kilometres", "inches", "feet", "yards",
               "miles", "nautical miles", "micrometres", "light years", "astronomical units"],
    "mass": ["milligrams", "grams", "kilograms", "tonnes", "ounces", "pounds", "stones",
             "carats", "grains", "short tons"],
    "time": ["milliseconds", "seconds", "minutes", "hours", "days", "weeks", "years",
             "microseconds", "fortnights"],
    "temperature": ["degrees Celsius", "kelvin", "degrees Fahrenheit", "degrees Rankine"],
    "volume": ["millilitres", "litres", "cubic metres", "gallons", "quarts", "pints", "cups",
               "fluid ounces", "cubic feet", "teaspoons", "tablespoons"],
    "area": ["square metres", "square kilometres", "hectares", "acres", "square feet",
             "square miles", "square inches"],
    "speed": ["metres per second", "kilometres per hour", "miles per hour", "knots",
              "feet per second", "mach"],
    "pressure": ["pascals", "kilopascals", "bars", "atmospheres", "psi", "millimetres of mercury",
                 "torr"],
    "energy": ["joules", "kilojoules", "calories", "kilocalories", "watt hours",
               "kilowatt hours", "electronvolts", "british thermal units"],
    "power": ["watts", "kilowatts", "megawatts", "horsepower"],
    "data size": ["bytes", "kilobytes", "megabytes", "gigabytes", "terabytes", "kibibytes",
                  "mebibytes", "gibibytes", "bits"],
    "angle": ["degrees", "radians", "gradians", "turns", "arcminutes", "arcseconds"],
    "frequency": ["hertz", "kilohertz", "megahertz", "gigahertz", "revolutions per minute"],
    "force": ["newtons", "kilonewtons", "pounds force", "dynes"],
}
SHAPES = ["circle", "square", "rectangle", "triangle", "regular hexagon", "ellipse",
          "trapezoid", "rhombus", "parallelogram", "regular pentagon", "annulus", "sector"]
SOLIDS = ["cube", "sphere", "cylinder", "cone", "square pyramid", "torus", "cuboid",
          "hemisphere", "tetrahedron", "capsule"]
STATS = {"mean": "arithmetic mean", "median": "median", "mode": "most common value",
         "variance": "variance", "stdev": "standard deviation", "range": "range",
         "sum": "sum", "product": "product", "maximum": "largest value",
         "minimum": "smallest value", "geomean": "geometric mean",
         "harmean": "harmonic mean", "iqr": "interquartile range", "skewness": "skewness",
         "kurtosis": "kurtosis", "mad": "median absolute deviation"}
STAT_VARIANTS = ["of a list of numbers", "of the absolute values of a list",
                 "of the squares of a list", "of the positive numbers in a list",
                 "of a list, ignoring missing values", "of the logarithms of a list"]
TEXT_OBJECTS = ["words", "vowels", "digits", "email addresses", "URLs", "hashtags", "dates",
                "phone numbers", "IPv4 addresses", "UUIDs", "HTML tags", "blank lines",
                "punctuation marks", "emoji", "capitalised words", "sentences",
                "duplicate words", "numbers", "mentions", "hex colours"]
TEXT_OPS = {"count": "Count the {o} in a text.", "extract": "Extract every {o} from a text.",
            "remove": "Remove all {o} from a text.", "find_first": "Find the first {o} in a text.",
            "validate": "Check that a text contains only valid {o}.",
            "mask": "Mask the {o} in a text with asterisks."}
VENDORS = ["acme", "globex", "initech", "umbrella", "hooli", "stark", "wayne", "wonka",
           "tyrell", "cyberdyne", "soylent", "vandelay", "oscorp", "monarch", "gringotts",
           "aperture", "nakatomi", "dunder", "pied_piper", "massive", "virtucon", "krusty",
           "duff", "prestige", "sirius", "weyland", "zorg", "spacely", "cogswell", "bluth"]
SYSTEMS = ["billing", "payroll", "inventory", "shipping", "crm", "auth", "metrics", "audit",
           "ledger", "support", "warehouse", "fleet", "telemetry", "booking", "pricing",
           "returns", "loyalty", "ads", "search", "mail", "procurement", "compliance",
           "backup", "scheduler", "catalog"]
RECORDS = {"log_line": "log line", "export_row": "export row", "event": "event record",
           "invoice_id": "invoice identifier", "timestamp": "timestamp", "error_code": "error code",
           "batch_header": "batch header", "api_response": "API response", "config": "config entry",
           "report_total": "report total", "user_record": "user record",
           "status_line": "status line"}
SYNONYMS = {"Convert": "Change", "Count": "Tally", "Extract": "Pull out", "Remove": "Strip",
            "Parse": "Read", "Compute": "Work out", "text": "string", "list": "series",
            "numbers": "values", "largest": "biggest", "smallest": "lowest"}


def _slug(text: str) -> str:
    return "_".join(w for w in "".join(c if c.isalnum() else " " for c in text.lower()).split())


ABBREVIATIONS = {
    "millimetres": "mm", "centimetres": "cm", "metres": "m", "kilometres": "km",
    "inches": "in", "feet": "ft", "yards": "yd", "miles": "mi", "grams": "g",
    "kilograms": "kg", "milligrams": "mg", "ounces": "oz", "pounds": "lb", "seconds": "s",
    "minutes": "min", "hours": "h", "degrees Celsius": "°C", "kelvin": "K",
    "degrees Fahrenheit": "°F", "millilitres": "ml", "litres": "l", "gallons": "gal",
    "square metres": "m²", "square feet": "sq ft", "metres per second": "m/s",
    "kilometres per hour": "km/h", "miles per hour": "mph", "pascals": "Pa",
    "kilopascals": "kPa", "atmospheres": "atm", "joules": "J", "kilojoules": "kJ",
    "kilocalories": "kcal", "kilowatt hours": "kWh", "watts": "W", "kilowatts": "kW",
    "bytes": "B", "kilobytes": "kB", "megabytes": "MB", "gigabytes": "GB", "radians": "rad",
    "hertz": "Hz", "kilohertz": "kHz", "megahertz": "MHz", "newtons": "N",
}
STAT_WORDS = {"arithmetic mean": "average", "median": "middle value",
              "standard deviation": "spread", "largest value": "biggest number",
              "smallest value": "lowest number", "most common value": "most frequent entry",
              "sum": "total", "range": "difference between extremes"}
RECORD_WORDS = {"log line": "log entry", "export row": "exported line",
                "event record": "event", "invoice identifier": "invoice number",
                "timestamp": "time stamp", "error code": "failure code",
                "batch header": "batch preamble", "API response": "API reply",
                "config entry": "setting", "report total": "report sum",
                "user record": "account entry", "status line": "status message"}


def _tool(name: str, doc: str, params: list[str]) -> ToolDoc:
    signature = f"{name}({', '.join(params)})"
    return ToolDoc(name=name, version=1, views={
        "name": name.replace("_", " "), "signature": signature, "docstring": doc,
        "subgoal": doc.rstrip(".").lower()})


def synthetic(n: int, seed: int = 7) -> tuple[list[ToolDoc], dict[str, tuple[str, str]]]:
    """n tool docs and, for each, (family, a paraphrased query that should find it): other
    words, abbreviations and synonyms where a user would use them."""
    rng = random.Random(seed)
    out: dict[str, tuple[ToolDoc, str, str]] = {}
    for quantity, units in UNITS.items():
        for a in units:
            for b in units:
                if a == b:
                    continue
                name = f"{_slug(a)}_to_{_slug(b)}"[:60]
                if rng.random() < 0.5 and a in ABBREVIATIONS and b in ABBREVIATIONS:
                    query = f"convert 12 {ABBREVIATIONS[a]} into {ABBREVIATIONS[b]}"
                else:
                    query = f"how many {b} is a {quantity} given in {a}"
                out[name] = (_tool(name, f"Convert a {quantity} from {a} to {b}.",
                                   ["value: float"]), "units", query)
    for shape in SHAPES:
        for what in ("area", "perimeter", "centroid", "bounding box"):
            name = f"{what.replace(' ', '_')}_of_{_slug(shape)}"
            out[name] = (_tool(name, f"Compute the {what} of a {shape} from its dimensions.",
                               ["dimensions: list[float]"]), "geometry",
                         f"{what} of a {shape} shape")
    for solid in SOLIDS:
        for what in ("volume", "surface area", "mass from density"):
            name = f"{_slug(what)}_of_{_slug(solid)}"
            out[name] = (_tool(name, f"Compute the {what} of a {solid}.",
                               ["dimensions: list[float]"]), "geometry",
                         f"how big is the {what} of a {solid}")
    for key, words in STATS.items():
        for i, variant in enumerate(STAT_VARIANTS):
            name = f"{key}_{_slug(variant)}"[:60] if i else key
            said = STAT_WORDS.get(words, words)
            out[name] = (_tool(name, f"Compute the {words} {variant}.",
                               ["values: list[float]"]), "statistics",
                         f"the {said} {variant.replace('list', 'series')}")
    for op, template in TEXT_OPS.items():
        for obj in TEXT_OBJECTS:
            name = f"{op}_{_slug(obj)}"
            doc = template.format(o=obj)
            query = doc.rstrip(".")
            for word, synonym in SYNONYMS.items():
                query = query.replace(word, synonym)
            out[name] = (_tool(name, doc, ["text: str"]), "text", query.lower())
    combos = [(v, s, r) for v in VENDORS for s in SYSTEMS for r in RECORDS]
    rng.shuffle(combos)
    for vendor, system, record in combos:
        if len(out) >= n:
            break
        name = f"parse_{vendor}_{system}_{record}"
        what = RECORDS[record]
        vendor_name = vendor.replace("_", " ").title()
        out[name] = (_tool(name, f"Parse a {vendor_name} {system} {what} into its fields.",
                           ["line: str"]), "company formats",
                     f"split a {vendor_name} {system} {RECORD_WORDS[what]} into its parts")
    names = sorted(out)[:n]
    return [out[k][0] for k in names], {k: (out[k][1], out[k][2]) for k in names}


# --- measurement ---------------------------------------------------------------------------------


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def index_bytes(index: ToolIndex) -> int:
    st = index._current()
    total = 0
    if st.vectors is not None:
        total += st.vectors.nbytes
    if st.bm25 is not None:
        total += sum(v.nbytes for k, v in st.bm25.scores.items() if hasattr(v, "nbytes"))
    return total


def write_library(root: Path, docs: list[ToolDoc]) -> None:
    """A real library directory (git repo, one commit) holding the synthetic tools."""
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True)
    subprocess.run(["git", "-C", str(root), "config", "gc.auto", "0"], check=True)
    (root / "toolforge.toml").write_text(DEFAULT_SETTINGS_TOML)
    (root / ".gitignore").write_text(GITIGNORE)
    (root / "candidates").mkdir()
    (root / "candidates/.gitkeep").write_text("")
    for d in docs:
        td = root / "tools" / d.name
        td.mkdir(parents=True)
        params = d.views["signature"].split("(", 1)[1].rstrip(")")
        arg = params.split(":")[0]
        (td / "tool.py").write_text(
            f"def {d.name}({params}) -> str:\n"
            f'    """{d.views["docstring"]}\n\n    Args:\n        {arg}: the input.\n\n'
            f'    Returns:\n        the result.\n    """\n    return str({arg})\n')
        (td / "tool.toml").write_text(
            f'name = "{d.name}"\nversion = 1\nstatus = "active"\nentrypoint = "{d.name}"\n'
            f'made_for = "{d.views["subgoal"]}"\n\n[provenance]\nsource = "bench"\n')
    env = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "b@x",
           "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "b@x"}
    subprocess.run(["git", "-C", str(root), "add", "-A"], check=True, env=env)
    subprocess.run(["git", "-C", str(root), "commit", "-qm", "bench"], check=True, env=env)


def recall_at(index: ToolIndex, queries: dict[str, str], k: int,
              methods: tuple[str, ...]) -> float:
    found = 0
    for name, query in queries.items():
        if name in [h.tool for h in index.search(query, k, methods=methods)]:
            found += 1
    return found / len(queries)


def labelled_set(queries: dict[str, tuple[str, str]], per_family: int, seed: int
                 ) -> dict[str, dict[str, str]]:
    """The same number of labelled queries from every family of tools."""
    rng = random.Random(seed)
    families: dict[str, list[str]] = {}
    for name, (family, _) in sorted(queries.items()):
        families.setdefault(family, []).append(name)
    return {family: {n: queries[n][1] for n in rng.sample(names, min(per_family, len(names)))}
            for family, names in sorted(families.items())}


def bench_size(n: int, per_family: int, repeats: int) -> None:
    print(f"\n== {n:,} tools ==")
    docs, queries = synthetic(n)
    by_family = labelled_set(queries, per_family, n)
    labelled = {k: v for family in by_family.values() for k, v in family.items()}
    before = rss_mb()
    started = time.perf_counter()
    index = ToolIndex.from_docs(docs)
    build_s = time.perf_counter() - started
    print(f"  in-memory build: {build_s:.2f} s for {len(docs):,} tools "
          f"({sum(len(d.views) for d in docs):,} views); index arrays "
          f"{index_bytes(index) / 2**20:.1f} MB; process RSS +{rss_mb() - before:.0f} MB")
    sample = list(labelled.values())
    index.search(sample[0], 5)  # warm
    times, cpu = [], []
    for _ in range(repeats):
        for q in sample:
            t0, c0 = time.perf_counter(), time.process_time()
            index.search(q, 5)
            times.append((time.perf_counter() - t0) * 1000)
            cpu.append((time.process_time() - c0) * 1000)
    times.sort()
    p50, p99 = statistics.median(times), times[int(0.99 * (len(times) - 1))]
    mark = "within" if p50 <= BUDGET_MS else "OVER"
    print(f"  top-5 query (hybrid): p50 {p50:.2f} ms wall ({statistics.median(cpu):.2f} ms "
          f"CPU), p99 {p99:.2f} ms, over {len(times)} queries (budget p50 <= "
          f"{BUDGET_MS:.0f} ms at 10k: {mark})")
    families = list(by_family)
    print(f"  recall@5 on {len(labelled)} labelled queries ({per_family} per family; "
          f"columns: all, {', '.join(families)})")
    for label, methods in (("BM25 alone", ("bm25",)), ("dense alone", ("dense",)),
                           ("hybrid (RRF)", ("bm25", "dense"))):
        cells = [recall_at(index, labelled, 5, methods)]
        cells += [recall_at(index, by_family[f], 5, methods) for f in families]
        print(f"    {label:<13} " + "  ".join(f"{c:.3f}" for c in cells))
    # cold: from a real library directory, persisted; then an incremental update
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp:
        root = Path(tmp) / "lib"
        write_library(root, docs)
        started = time.perf_counter()
        cold = ToolIndex(root)
        cold.refresh()
        cold_s = time.perf_counter() - started
        state = root / ".toolforge/retrieval"
        disk = sum(p.stat().st_size for p in state.rglob("*") if p.is_file())
        print(f"  cold build from the library (read {n:,} tool dirs, embed, save): "
              f"{cold_s:.2f} s; {disk / 2**20:.1f} MB on disk")
        started = time.perf_counter()
        reloaded = ToolIndex(root)
        reloaded.refresh()
        print(f"  load of the persisted index in a new process: "
              f"{time.perf_counter() - started:.2f} s")
        name = docs[len(docs) // 2].name
        path = root / "tools" / name / "tool.py"
        path.write_text(path.read_text().replace('"""', '"""Revised. ', 1))
        subprocess.run(["git", "-C", str(root), "commit", "-qam", "edit"], check=True,
                       env={**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@x",
                            "GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@x"})
        started = time.perf_counter()
        reloaded.search("anything", 5)
        print(f"  incremental update after one tool changed (git diff, re-embed one tool, "
              f"rebuild BM25, save): {time.perf_counter() - started:.2f} s")


def bench_dedup() -> None:
    from toolforge.sandbox.limits import Limits
    from toolforge.tools.contract import load_tool_source
    from toolforge.tte.behaviour import Prober
    from toolforge.tte.calibrate import fit_threshold
    from toolforge.tte.dedup import Probe, similarity

    print("\n== dedup on labelled pairs ==")
    pairs = [json.loads(line) for line in PAIRS.read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    pairs = [p for p in pairs if p["kind"] == "dedup"]
    prober = Prober(Limits(), None)
    scored: list[tuple[float, bool]] = []
    rows = []
    started = time.perf_counter()
    try:
        for p in pairs:
            a, b = (Probe(load_tool_source(p[s]["code"]).name, p[s]["code"],
                          load_tool_source(p[s]["code"])) for s in ("a", "b"))
            sim = similarity(a, b, prober)
            scored.append((sim.score, p["duplicate"]))
            rows.append((p.get("note", ""), p["duplicate"], sim))
    finally:
        prober.close()
    elapsed = time.perf_counter() - started
    tau = TteSettings().tau_dup
    tp = sum(1 for s, y in scored if s >= tau and y)
    fp = sum(1 for s, y in scored if s >= tau and not y)
    fn = sum(1 for s, y in scored if s < tau and y)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    print(f"  {len(pairs)} pairs ({sum(y for _, y in scored)} duplicates, "
          f"{sum(not y for _, y in scored)} not), {elapsed:.1f} s with sandboxed behaviour")
    print(f"  at the default tau_dup {tau}: precision {precision:.3f}, recall {recall:.3f}")
    best = fit_threshold(scored)
    if best:
        print(f"  F1-optimal tau_dup {best.threshold}: F1 {best.f1:.3f} (precision "
              f"{best.precision:.3f}, recall {best.recall:.3f})")
    for note, label, sim in rows:
        if "quotient" in note or "times" in note or "magnitude" in note:
            print(f"    {note:<36} {'duplicate' if label else 'different':<10} "
                  f"sim {sim.score:.2f} (text {sim.text:.2f}, behaviour "
                  f"{sim.behaviour_text()})")
    text_only = fit_threshold([(sim.text, label) for _, label, sim in rows])
    if text_only:
        print(f"  for comparison, text similarity alone: best F1 {text_only.f1:.3f} "
              f"(precision {text_only.precision:.3f}, recall {text_only.recall:.3f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="1k tools only")
    args = parser.parse_args()
    ToolIndex.from_docs([])  # load the dense model once, outside the timings
    print(f"retrieval: dense model {dense_status()}")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores "
          "(figures on a busy machine are slower)")
    bench_size(1000, 60, 5)
    if not args.quick:
        bench_size(10_000, 60, 3)
    bench_dedup()


if __name__ == "__main__":
    main()
