"""Generation throughput and memory against a loopback teacher with latency L and capacity K.

Prints, asserts nothing:
- requests/s at the default concurrency as a share of the server's ceiling K/L (target ≥ 90 %);
- the same as a ratio to --concurrency 1, the original generate_data.py's sequential loop
  (target ≥ 25×);
- peak memory (max RSS) of the generation process for N = 1 000 and N = 10 000 (target: flat).

    python benchmarks/generation_throughput.py [--latency 0.25] [--capacity 64] [--n 2000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import ROOT

from magitui_core.generation.engine import DEFAULT_CONCURRENCY
from magitui_core.jobs.events import JOB_DIR_ENV, EventReader


def start_teacher(latency: float, capacity: int) -> tuple[subprocess.Popen, str]:
    """The scripted teacher in its own process, so it never competes for our GIL."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.generation.teacher_server",
            "--latency",
            str(latency),
            "--capacity",
            str(capacity),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    port = int(process.stdout.readline())
    return process, f"http://127.0.0.1:{port}/v1"


def write_seeds(folder: Path, documents: int) -> Path:
    """One document per index: a JSONL source gives as many indices as it has documents."""
    path = folder / "seeds.jsonl"
    with path.open("w") as handle:
        for i in range(documents):
            code = "\n".join(f"def f{i}_{j}(x):\n    return x * {j}" for j in range(10))
            handle.write(json.dumps({"content": code}) + "\n")
    return path


def run_generation(base_url: str, seeds: Path, count: int, concurrency: int, work: Path) -> dict:
    """One generation process; returns its done summary plus its peak RSS."""
    job_dir = Path(tempfile.mkdtemp(dir=work))
    out = job_dir / "out.jsonl"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "magitui_core.generation.engine",
            "--base-url",
            base_url,
            "--model",
            "teacher-model",
            "--seeds",
            str(seeds),
            "--count",
            str(count),
            "--out",
            str(out),
            "--concurrency",
            str(concurrency),
        ],
        cwd=ROOT,
        env={**os.environ, JOB_DIR_ENV: str(job_dir)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    reader = EventReader(job_dir / "events.jsonl")
    events: list[dict] = []
    while batch := reader.read_new():
        events += batch
    done = next(e for e in events if e["type"] == "done")
    done["max_rss_mib"] = usage.ru_maxrss / 1024  # Linux reports KiB
    done["cpu_s"] = usage.ru_utime + usage.ru_stime
    done["exit_code"] = process.returncode
    return done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # 1 s is short for a real teacher (hundreds of tokens per answer): the client's own cost shows.
    parser.add_argument("--latency", type=float, default=1.0, help="L: seconds per answer")
    parser.add_argument("--capacity", type=int, default=64, help="K: answers worked on at once")
    parser.add_argument("--n", type=int, default=2000, help="samples for the throughput run")
    parser.add_argument("--sequential-n", type=int, default=5)
    parser.add_argument("--memory-n", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument(
        "--memory-latency", type=float, default=0.02, help="L of the (fast) memory-run teacher"
    )
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="magitui-genbench-"))
    seeds = write_seeds(work, max(args.n, args.sequential_n, *args.memory_n))
    server, base_url = start_teacher(args.latency, args.capacity)
    ceiling = args.capacity / args.latency
    try:
        print(f"teacher: latency L = {args.latency} s, capacity K = {args.capacity}")
        print(f"ceiling K/L = {ceiling:.1f} requests/s\n")
        default = run_generation(base_url, seeds, args.n, DEFAULT_CONCURRENCY, work)
        rate = default["generated_now"] / default["elapsed_s"]
        print(
            f"default concurrency ({DEFAULT_CONCURRENCY}), N = {args.n}: {rate:.1f} req/s "
            f"= {100 * rate / ceiling:.1f} % of K/L (target ≥ 90 %), "
            f"{default['elapsed_s']:.1f} s, client CPU {default['cpu_s']:.1f} s, "
            f"exit {default['exit_code']}"
        )
        single = run_generation(base_url, seeds, args.sequential_n, 1, work)
        single_rate = single["generated_now"] / single["elapsed_s"]
        print(
            f"--concurrency 1 (the original's loop), N = {args.sequential_n}: "
            f"{single_rate:.2f} req/s"
        )
        print(f"speed-up: {rate / single_rate:.1f}× (target ≥ 25×)\n")
        server.terminate()
        server.wait()
        # Memory runs only need many requests, so they use a fast teacher.
        server, base_url = start_teacher(args.memory_latency, 256)
        print(f"memory runs: teacher L = {args.memory_latency} s, K = 256")
        for n in args.memory_n:
            result = run_generation(base_url, seeds, n, DEFAULT_CONCURRENCY, work)
            print(
                f"N = {n:>6}: peak RSS {result['max_rss_mib']:.1f} MiB, "
                f"{result['generated_now'] / result['elapsed_s']:.1f} req/s, "
                f"exit {result['exit_code']}"
            )
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
