"""Curation: the effect of each deviation option, and the speed of decontamination.

1. Effects: one synthetic OSS-Instruct-like set with known shares of exact duplicates, near
   duplicates, solutions copying the problem, verbatim and reformatted benchmark passages;
   kept/removed for the default (upstream's recipe) and for each deviation option.
2. Speed on 100 000 records: the substring decontamination over all five benchmarks at their
   real sizes (HumanEval real; MBPP, APPS, GSM8K and DS-1000 as same-sized synthetic stand-ins,
   since nothing may be downloaded here), against a baseline measured in the same run: reading,
   parsing and writing the same file. Also upstream's loop on a sample (extrapolated) and the
   n-gram option. Then the whole job as a process: wall time, stages, peak memory.

    .venv/bin/python benchmarks/curation.py [--records 100000] [--effects 20000] [--minhash]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from magitui_core.curation.benchmarks import BENCHMARKS, extract_docstring, load_benchmarks  # noqa: E402
from magitui_core.curation.decontaminate import build_matcher, contaminated  # noqa: E402
from magitui_core.curation.pipeline import CurateOptions, curate, load_inputs  # noqa: E402
from tests.curation import upstream_reference as upstream  # noqa: E402
from tests.curation.benchmark_fixtures import BenchmarkFiles, write_benchmark_files  # noqa: E402
from tests.curation.humaneval_data import humaneval_problems  # noqa: E402
from tests.curation.synthetic import synthetic_records, write_jsonl  # noqa: E402

STAGES = ("benchmarks", "read", "shuffle", "exact dedupe", "clean", "copied solutions")
STAGES += ("near dedupe", "decontaminate", "write")
# Shares of each phenomenon in the effects set: record i gets it when i % N == phase, so the
# phenomena never land on the same record.
EVERY = {"copies": 40, "near": 60, "passage": 100, "reformatted": 150, "mbpp": 200}
PHASE = {"copies": 1, "near": 2, "passage": 3, "reformatted": 4, "mbpp": 5}


def timed(work: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    value = work()
    return time.perf_counter() - started, value


def inject(records: list[dict[str, Any]], bench: BenchmarkFiles) -> list[dict[str, Any]]:
    """Mix the phenomena each option acts on into synthetic records, at the EVERY shares."""
    rng = random.Random(1)
    he = list(humaneval_problems().values())

    def has(index: int, name: str) -> bool:
        return index % EVERY[name] == PHASE[name]

    for index, record in enumerate(records):
        if has(index, "copies"):  # the solution repeats the problem's code block
            block = record["problem"].split("```python\n", 1)[1].split("```", 1)[0]
            record["solution"] = f"```python\n{block}```\n\nThis does it."
        elif has(index, "near"):  # an earlier record with a word changed in each part
            earlier = records[rng.randrange(index)]
            record["problem"] = earlier["problem"].replace("function", "routine", 1)
            record["solution"] = earlier["solution"].replace("return", "return  (", 1) + ")"
        elif has(index, "passage"):  # a HumanEval docstring, verbatim
            docstring = extract_docstring(rng.choice(he)["prompt"])
            record["problem"] += f"\n\nFor example:\n{docstring}\n"
        elif has(index, "reformatted"):  # a HumanEval prompt, re-wrapped
            record["problem"] += "\n\n" + " ".join(rng.choice(he)["prompt"].split())
        elif has(index, "mbpp"):  # an MBPP test task's text
            record["problem"] += " " + bench.mbpp_task(rng.randint(11, 510))["text"]
    return records


def effects(folder: Path, bench: BenchmarkFiles, count: int) -> None:
    source = write_jsonl(
        folder / "effects.jsonl",
        inject(synthetic_records(count, seed=3, duplicate_every=50), bench),
    )
    print(f"\n1. Effect of each option on {count:,} synthetic records")
    shares = ", ".join(f"{name} 1/{n}" for name, n in EVERY.items())
    print(f"   (exact duplicate problems 1/50; {shares}; all five benchmarks given as files)")
    files = bench.as_options()
    cases: list[tuple[str, CurateOptions]] = [
        ("default (upstream's recipe)", CurateOptions(benchmark_files=files)),
        ("--no-shuffle", CurateOptions(benchmark_files=files, shuffle=False)),
        ("--dedupe none", CurateOptions(benchmark_files=files, dedupe="none")),
        ("--dedupe minhash", CurateOptions(benchmark_files=files, dedupe="minhash")),
        (
            "--drop-copied-solutions",
            CurateOptions(benchmark_files=files, drop_copied_solutions=True),
        ),
        (
            "--decontaminate-method ngram",
            CurateOptions(benchmark_files=files, decontaminate_method="ngram"),
        ),
        ("no benchmark files (offline: HumanEval only)", CurateOptions()),
        ("--decontaminate none", CurateOptions(decontaminate="none")),
    ]
    default_kept: set[str] | None = None
    default_count = 0
    out = folder / "effects-out.jsonl"
    for name, options in cases:
        seconds, result = timed(lambda o=options: curate([source], out, o))
        kept = {r.source for r in result.kept}
        if default_kept is None:
            default_kept, default_count = kept, len(kept)
        reasons = ", ".join(f"{reason} {n:,}" for reason, n in result.removed_by_reason.items())
        delta = len(kept) - default_count
        differ = len(kept ^ default_kept)
        print(f"   {name}")
        print(
            f"     kept {len(kept):,} ({delta:+,} vs default; {differ:,} records differ), "
            f"{seconds:.1f} s"
        )
        print(f"     removed: {reasons or 'nothing'}")


def baseline_read_parse_write(source: Path, folder: Path) -> float:
    """What any pass over the file costs: read, json.loads, json.dumps, write."""

    def work() -> None:
        with source.open(encoding="utf-8") as handle, (folder / "copy.jsonl").open("w") as out:
            for line in handle:
                out.write(json.dumps(json.loads(line)) + "\n")

    return timed(work)[0]


def speed(folder: Path, bench: BenchmarkFiles, count: int) -> Path:
    records = inject(synthetic_records(count, seed=0, duplicate_every=50), bench)
    source = write_jsonl(folder / "generated.jsonl", records)
    size_mb = source.stat().st_size / 1e6
    print(f"\n2. Decontamination speed on {count:,} records ({size_mb:.0f} MB)")
    baseline = baseline_read_parse_write(source, folder)
    print(f"   baseline, read + parse + write the same file: {baseline:6.2f} s")
    loaded = load_inputs([source]).records
    load_seconds, benchmarks = timed(
        lambda: load_benchmarks(BENCHMARKS, bench.as_options(), strict=True)
    )
    counts = ", ".join(f"{c.name} {sum(c.counts.values()):,}" for c in benchmarks.checked)
    print(f"   passages: {counts} ({len(benchmarks.passages):,}), loaded in {load_seconds:.2f} s")
    for method in ("substring", "ngram"):
        build, matcher = timed(lambda m=method: build_matcher(m, benchmarks.passages))
        scan, found = timed(lambda m=matcher: contaminated(loaded, m))
        label = "substring (default, one automaton)" if method == "substring" else "ngram option"
        print(
            f"   {label:<35} build {build:5.2f} s, scan {scan:6.2f} s "
            f"= {scan / baseline:4.2f}× the baseline, {count / scan:,.0f} records/s, "
            f"{len(found):,} contaminated"
        )
    filter_out: dict[str, list[str]] = {}
    for passage in benchmarks.passages:
        filter_out.setdefault(passage.key, []).append(passage.text)
    sample = loaded[:200]
    loop, _ = timed(
        lambda: [
            upstream.find_substrings(
                {"problem": r.problem, "solution": r.solution}, ["problem", "solution"], filter_out
            )
            for r in sample
        ]
    )
    print(
        f"   upstream's loop (find_substrings) on {len(sample)} records: {loop:.2f} s → "
        f"~{loop / len(sample) * count / 60:,.0f} min for {count:,} (extrapolated, one core)"
    )
    return source


def run_job(source: Path, folder: Path, bench: BenchmarkFiles, dedupe: str) -> None:
    out, report = folder / f"train-{dedupe}.jsonl", folder / f"report-{dedupe}.json"
    command = [sys.executable, "-m", "magitui_core.curation.preprocess", str(source)]
    command += ["--out", str(out), "--report", str(report), "--dedupe", dedupe]
    for name, path in bench.as_options().items():
        command += ["--benchmark-file", f"{name}={path}"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    seconds, _ = timed(
        lambda: subprocess.run(command, check=True, stdout=subprocess.DEVNULL, cwd=ROOT, env=env)
    )
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    data = json.loads(report.read_text())
    print(f"\n3. The job, --dedupe {dedupe}, all five benchmarks from files")
    print(f"   wall (process, incl. start-up): {seconds:.2f} s; in process {data['seconds']:.2f} s")
    stages = data["stage_seconds"]
    print("   " + ", ".join(f"{s} {stages[s]:.2f} s" for s in STAGES if s in stages))
    upper = " (upper bound: an earlier child's)" if peak_kib <= before else ""
    print(f"   peak memory (max RSS): {peak_kib / 1024:.0f} MiB{upper}")
    summary = data["summary"]
    print(f"   kept {summary['kept']:,}, removed {summary['removed_by_reason']}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--effects", type=int, default=20_000, help="records in the effects set")
    parser.add_argument("--minhash", action="store_true", help="also time the job with minhash")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="magitui-curation-bench-"))
    bench = write_benchmark_files(folder / "bench", full_size=True)
    effects(folder, bench, args.effects)
    source = speed(folder, bench, args.records)
    for mode in ["exact", "minhash"] if args.minhash else ["exact"]:
        run_job(source, folder, bench, mode)


if __name__ == "__main__":
    main()
