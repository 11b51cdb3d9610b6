"""Curation: speed and memory of the job against a floor, decontamination, and each option's effect.

1. The job on one generated file (100 000 OSS-Instruct-like records by default; exact dedupe and
   all five benchmarks: HumanEval real, MBPP, APPS, GSM8K and DS-1000 as same-sized synthetic
   stand-ins, since nothing may be downloaded here), as a process of its own: wall time and
   peak RSS, against a floor measured in the same run on the same file: a process that reads,
   JSON-parses and writes it back, nothing else. Each is its own child process, measured with
   os.wait4, so each peak RSS is that process's alone. The machine may be shared: the figures
   that count are the ratios to the floor, taken in the same round.
2. Decontamination alone on the same records: the substring search (the default), the n-gram
   option, and upstream's loop on a sample (extrapolated).
3. Effects: kept/removed on a smaller set with known shares of exact duplicates, near
   duplicates, solutions copying the problem, verbatim and reformatted benchmark passages, for
   the default (upstream's recipe) and for each deviation option.

    .venv/bin/python benchmarks/curation.py [--records 100000] [--quick] [--minhash]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from magitui_core.curation.benchmarks import BENCHMARKS, extract_docstring, load_benchmarks  # noqa: E402
from magitui_core.curation.decontaminate import build_matcher, contaminated  # noqa: E402
from magitui_core.curation.pipeline import CurateOptions, curate  # noqa: E402
from magitui_core.curation.reading import load_inputs  # noqa: E402
from tests.curation import upstream_reference as upstream  # noqa: E402
from tests.curation.benchmark_fixtures import BenchmarkFiles, write_benchmark_files  # noqa: E402
from tests.curation.humaneval_data import humaneval_problems  # noqa: E402
from tests.curation.synthetic import synthetic_records, write_jsonl  # noqa: E402

MEMORY_TARGET_MIB = 400
TIME_TARGET = 2.0  # the job's wall time, in floors
STAGES = ("benchmarks", "read", "shuffle", "exact dedupe", "clean", "copied solutions")
STAGES += ("near dedupe", "decontaminate", "write")
# Shares of each phenomenon in the generated sets: record i gets it when i % N == phase, so the
# phenomena never land on the same record.
EVERY = {"copies": 40, "near": 60, "passage": 100, "reformatted": 150, "mbpp": 200}
PHASE = {"copies": 1, "near": 2, "passage": 3, "reformatted": 4, "mbpp": 5}
# The floor: what any pass over the file costs, in a process of its own.
FLOOR = """
import json, sys
with open(sys.argv[1], encoding="utf-8") as source, open(sys.argv[2], "w") as out:
    for line in source:
        out.write(json.dumps(json.loads(line)) + "\\n")
"""


# Runs one command and writes its wall time, its peak RSS and the peak memory of it and its
# workers together: their proportional set sizes added up (a page shared by n processes counts
# 1/n in each), sampled every 50 ms from /proc, which is cheap enough not to slow what it
# measures (psutil's children() reads every process of the machine).
# A child's peak RSS counts the memory of the process it was started from (the kernel carries
# it over at exec), so the command is started from this small process, never from the
# benchmark, which holds the generated records. Dirty pages left by the run before are written
# out first: otherwise the job's fsync would wait for the floor's output.
MEASURE = """
import json, os, subprocess, sys, threading, time
def tree(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as rollup:
            total = next(int(l.split()[1]) for l in rollup if l.startswith("Pss:")) * 1024
        with open(f"/proc/{pid}/task/{pid}/children") as children:
            return total + sum(tree(int(child)) for child in children.read().split())
    except (OSError, ValueError, StopIteration):
        return 0
os.sync()
started = time.perf_counter()
child = subprocess.Popen(sys.argv[2:], stdout=subprocess.DEVNULL)
peak = 0
def sample():
    global peak
    while True:
        peak = max(peak, tree(child.pid))
        time.sleep(0.05)
threading.Thread(target=sample, daemon=True).start()
_, status, usage = os.wait4(child.pid, 0)
seconds = time.perf_counter() - started
with open(sys.argv[1], "w") as out:
    code = os.waitstatus_to_exitcode(status)
    json.dump({"code": code, "seconds": seconds, "maxrss": usage.ru_maxrss, "tree": peak}, out)
"""


@dataclass(frozen=True)
class ChildRun:
    seconds: float  # wall, interpreter start-up included
    peak_mib: float  # the command's own maximum resident set size
    tree_mib: float  # the peak of its and its workers' proportional set sizes added up


def run_child(command: list[str], folder: Path, **popen: Any) -> ChildRun:
    """Run ``command`` to its end, measured with os.wait4 (its own rusage, nothing else's)."""
    measured = folder / "measured.json"
    subprocess.run([sys.executable, "-c", MEASURE, str(measured), *command], check=True, **popen)
    data = json.loads(measured.read_text())
    if data["code"]:
        raise subprocess.CalledProcessError(data["code"], command)
    kib = data["maxrss"] / 1024 if sys.platform == "darwin" else data["maxrss"]  # macOS: bytes
    return ChildRun(data["seconds"], kib / 1024, max(data["tree"] / 2**20, kib / 1024))


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


def job_command(
    source: Path, out: Path, report: Path, bench: BenchmarkFiles, dedupe: str
) -> list[str]:
    command = [sys.executable, "-m", "magitui_core.curation.preprocess", str(source)]
    command += ["--out", str(out), "--report", str(report), "--dedupe", dedupe]
    return command + bench.as_cli()


def job_against_floor(
    source: Path, folder: Path, bench: BenchmarkFiles, dedupe: str, rounds: int
) -> None:
    size_mb = source.stat().st_size / 1e6
    print(f"\n1. The job (--dedupe {dedupe}, all five benchmarks) against the floor")
    print(f"   same file each time: {source.name}, {size_mb:.0f} MB; {rounds} round(s)")
    floor_command = [sys.executable, "-c", FLOOR, str(source), str(folder / "copy.jsonl")]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    quiet: dict[str, Any] = {"cwd": ROOT, "env": env}
    out = folder / f"train-{dedupe}.jsonl"
    runs: list[tuple[float, ChildRun, ChildRun, Path]] = []
    for number in range(1, rounds + 1):
        report_path = folder / f"report-{dedupe}-{number}.json"
        floor = run_child(floor_command, folder, **quiet)
        job = run_child(job_command(source, out, report_path, bench, dedupe), folder, **quiet)
        runs.append((job.seconds / floor.seconds, floor, job, report_path))
        print(
            f"   round {number}: floor {floor.seconds:5.2f} s ({floor.peak_mib:4.0f} MiB), "
            f"job {job.seconds:5.2f} s ({job.tree_mib:4.0f} MiB with its workers) "
            f"= {runs[-1][0]:4.2f}× the floor"
        )
    ratios = sorted(run[0] for run in runs)
    median = ratios[len(ratios) // 2]
    # The round least disturbed by the rest of the machine: the lowest ratio.
    ratio, floor, job, report_path = min(runs, key=lambda run: run[0])
    report = json.loads(report_path.read_text())
    stages = report["stage_seconds"]
    print(f"   floor (read + parse + write, a process): {floor.seconds:6.2f} s")
    print(
        f"   job (a process, start-up included):      {job.seconds:6.2f} s = {ratio:.2f}× the "
        f"floor (median of the rounds {median:.2f}×; target ≤ {TIME_TARGET:.0f}×); "
        f"in process {report['seconds']:.2f} s, {report.get('workers', 1)} reading process(es)"
    )
    print(
        "   stages (summed over the reading processes): "
        + ", ".join(f"{s} {stages[s]:.2f} s" for s in STAGES if s in stages)
    )
    peak = max(run[2].tree_mib for run in runs)
    print(
        f"   peak memory of the job and its workers (PSS added up): {peak:.0f} MiB = "
        f"{peak / MEMORY_TARGET_MIB:.2f}× the {MEMORY_TARGET_MIB} MiB target (the job's process "
        f"alone: peak RSS {max(run[2].peak_mib for run in runs):.0f} MiB); floor's peak RSS "
        f"{floor.peak_mib:.0f} MiB"
    )
    summary = report["summary"]
    print(f"   kept {summary['kept']:,}, removed {summary['removed_by_reason']}")


def decontamination(source: Path, bench: BenchmarkFiles, count: int) -> None:
    print(f"\n2. Decontamination alone, on the same {count:,} records")
    loaded = load_inputs([source]).records
    load_seconds, benchmarks = timed(
        lambda: load_benchmarks(BENCHMARKS, bench.as_options(), strict=True)
    )
    counts = ", ".join(f"{c.name} {sum(c.counts.values()):,}" for c in benchmarks.checked)
    print(f"   passages: {counts} ({len(benchmarks.passages):,}), loaded in {load_seconds:.2f} s")
    for method in ("substring", "ngram"):
        build, matcher = timed(lambda m=method: build_matcher(m, benchmarks.passages))
        scan, found = timed(lambda m=matcher: contaminated(loaded, m))
        label = "substring (default)" if method == "substring" else "ngram option"
        print(
            f"   {label:<20} build {build:5.2f} s, search {scan:6.2f} s, "
            f"{count / scan:,.0f} records/s, {len(found):,} contaminated"
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


def effects(folder: Path, bench: BenchmarkFiles, count: int) -> None:
    source = write_jsonl(
        folder / "effects.jsonl",
        inject(synthetic_records(count, seed=3, duplicate_every=50), bench),
    )
    print(f"\n3. Effect of each option on {count:,} synthetic records")
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=100_000, help="records in the job's file")
    parser.add_argument(
        "--quick", action="store_true", help="a smaller run: 10 000 records, one round"
    )
    parser.add_argument("--minhash", action="store_true", help="also run the job with minhash")
    args = parser.parse_args()
    count = 10_000 if args.quick and args.records == 100_000 else args.records
    rounds = 1 if args.quick else 3
    folder = Path(tempfile.mkdtemp(prefix="magitui-curation-bench-"))
    bench = write_benchmark_files(folder / "bench", full_size=True)
    records = inject(synthetic_records(count, seed=0, duplicate_every=50), bench)
    source = write_jsonl(folder / "generated.jsonl", records)
    del records
    for dedupe in ["exact", "minhash"] if args.minhash else ["exact"]:
        job_against_floor(source, folder, bench, dedupe, rounds)
    decontamination(source, bench, count)
    effects(folder, bench, 2_000 if args.quick else 20_000)


if __name__ == "__main__":
    main()
