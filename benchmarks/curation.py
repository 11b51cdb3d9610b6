"""Curation speed: clean + exact dedupe + decontaminate (HumanEval) + format 100 000 records.

Prints wall time, the time of each stage and the peak memory (max RSS) of the curation
process, which runs as the real job entry point in a fresh interpreter.

    .venv/bin/python benchmarks/curation.py [--records 100000] [--minhash]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.curation.synthetic import synthetic_records, write_jsonl  # noqa: E402

STAGES = ("read", "clean", "exact dedupe", "near dedupe", "decontaminate", "write")


def run_curation(source: Path, out: Path, report: Path, dedupe: str) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one curation process."""
    command = [
        sys.executable,
        "-m",
        "magitui_core.curation.preprocess",
        str(source),
        "--out",
        str(out),
    ]
    command += ["--report", str(report), "--dedupe", dedupe, "--decontaminate", "humaneval"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
    seconds = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if peak_kib <= before:
        print("  (peak RSS not above an earlier child's; figure is an upper bound)")
    return seconds, peak_kib / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--minhash", action="store_true", help="also time near-dedupe")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="magitui-curation-bench-"))
    source = folder / "generated.jsonl"
    started = time.perf_counter()
    write_jsonl(source, synthetic_records(args.records, seed=0, duplicate_every=50))
    size_mb = source.stat().st_size / 1e6
    print(
        f"input: {args.records:,} synthetic OSS-Instruct-like records, {size_mb:.0f} MB "
        f"(made in {time.perf_counter() - started:.1f}s)"
    )
    modes = ["exact", "minhash"] if args.minhash else ["exact"]
    for mode in modes:
        out, report = folder / f"train-{mode}.jsonl", folder / f"report-{mode}.json"
        seconds, peak_mib = run_curation(source, out, report, mode)
        data = json.loads(report.read_text())
        summary = data["summary"]
        print(f"\n--dedupe {mode} --decontaminate humaneval --format auto")
        print(f"  wall (process, incl. start-up): {seconds:.2f} s")
        print(f"  curation (in process):          {data['seconds']:.2f} s")
        stages = data["stage_seconds"]
        for stage in STAGES:
            if stage in stages:
                print(f"    {stage:<16} {stages[stage]:.2f} s")
        print(f"  peak memory (max RSS):          {peak_mib:.0f} MiB")
        print(f"  throughput:                     {args.records / data['seconds']:,.0f} records/s")
        print(f"  kept {summary['kept']:,}, removed {summary['removed_by_reason']}")


if __name__ == "__main__":
    main()
