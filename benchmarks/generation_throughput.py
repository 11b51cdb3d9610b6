"""Generation throughput, client CPU and memory against a loopback teacher (latency L, capacity K).

Prints, asserts nothing:
- against a bare loop (AsyncOpenAI + asyncio.Semaphore at the same concurrency, the same
  requests, answers thrown away) on the same server in the same run: requests/s and client CPU
  seconds per request of each, each in its own process (its own rusage: the server's CPU is not
  counted), and magitui's ratios (targets: ≥ 0.95× the requests/s, ≤ 1.1× the CPU per request);
- requests/s at the default concurrency as a share of the server's ceiling K/L (target ≥ 90 %);
- the same as a ratio to --concurrency 1, the original generate_data.py's sequential loop
  (target ≥ 25×);
- peak memory (max RSS) of the generation process for N = 1 000 and N = 10 000 (target: flat).

    python benchmarks/generation_throughput.py [--quick] [--bare-only] [--rounds 3]
        [--bare-latency 0.2] [--bare-n 3200] [--latency 1.0] [--capacity 64] [--n 2000]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import ROOT, run_measured

from magitui_core.generation.engine import DEFAULT_CONCURRENCY
from magitui_core.jobs.events import JOB_DIR_ENV, EventReader

MODEL = "teacher-model"


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
    """One generation process; returns its done summary plus its peak RSS and CPU."""
    job_dir = Path(tempfile.mkdtemp(dir=work))
    out = job_dir / "out.jsonl"
    exit_code, cpu_s, max_rss = run_measured(
        [
            sys.executable,
            "-m",
            "magitui_core.generation.engine",
            "--base-url",
            base_url,
            "--model",
            MODEL,
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
    reader = EventReader(job_dir / "events.jsonl")
    events: list[dict] = []
    while batch := reader.read_new():
        events += batch
    done = next(e for e in events if e["type"] == "done")
    # Requests start after the seed snippets are chosen (the "generating …" line) and end with
    # the last answer written (the summary), as the bare loop's clock runs.
    started = next(e for e in events if e["type"] == "log" and "generating" in e["message"])
    done["request_s"] = done["time"] - started["time"]
    done["max_rss_mib"] = max_rss
    done["cpu_s"] = cpu_s
    done["exit_code"] = exit_code
    return done


# ---- the bare loop ---------------------------------------------------------------------------
def write_requests(seeds: Path, count: int, base_url: str, work: Path) -> Path:
    """magitui's own requests for indices 0..count-1 (messages, seed, max_tokens), one JSON per
    line, built with its seed source and prompt so the bare loop sends exactly the same."""
    from magitui_core.generation.seeds import open_seed_source
    from magitui_core.generation.settings import DEFAULT_MAX_TOKENS, DEFAULT_MODEL_CONTEXT
    from magitui_core.generation.snippets import RECIPE_SEED
    from magitui_core.generation.teacher import TeacherClient
    from magitui_core.prompts import OSS_INSTRUCT_SYSTEM, generation_prompt, load_generation_prompt
    from tests.generation.teacher_server import Script

    source = open_seed_source(str(seeds), RECIPE_SEED)
    source.prepare(work, lambda documents: None)
    template = load_generation_prompt()
    client = TeacherClient(base_url, MODEL, model_context=DEFAULT_MODEL_CONTEXT)
    client.use_context_length(Script().context_length)  # what the teacher's /models reports
    path = work / f"requests-{count}.jsonl"
    with path.open("w", encoding="utf-8") as handle:
        for seed in source.seeds(range(count)):
            messages = client.messages(OSS_INSTRUCT_SYSTEM, generation_prompt(seed.code, template))
            request = {
                "messages": messages,
                "max_tokens": client.budget(messages, DEFAULT_MAX_TOKENS),
                "seed": RECIPE_SEED + seed.index,
            }
            handle.write(json.dumps(request) + "\n")
    return path


# Its own process, importing nothing but openai: its CPU is the bare client's alone.
BARE_LOOP = """
import asyncio, json, sys, time
import openai

async def main(requests_path, base_url, model, concurrency):
    with open(requests_path, encoding="utf-8") as handle:
        requests = [json.loads(line) for line in handle]
    started = time.monotonic()
    client = openai.AsyncOpenAI(base_url=base_url, api_key="EMPTY", max_retries=0, timeout=300)
    slots = asyncio.Semaphore(concurrency)

    async def one(request):
        async with slots:
            await client.chat.completions.create(model=model, n=1, temperature=0.0, **request)

    await asyncio.gather(*(one(request) for request in requests))
    elapsed = time.monotonic() - started
    await client.close()
    return {"requests": len(requests), "request_s": elapsed}

requests_path, base_url, model, concurrency, result = sys.argv[1:]
summary = asyncio.run(main(requests_path, base_url, model, int(concurrency)))
with open(result, "w") as handle:
    json.dump(summary, handle)
"""


def run_bare(requests_path: Path, base_url: str, concurrency: int, work: Path) -> dict:
    result_path = Path(tempfile.mkstemp(dir=work, suffix=".json")[1])
    command = [sys.executable, "-c", BARE_LOOP, str(requests_path), base_url, MODEL]
    command += [str(concurrency), str(result_path)]
    exit_code, cpu_s, max_rss = run_measured(command, cwd=ROOT)
    result = json.loads(result_path.read_text() or "{}")
    return {**result, "cpu_s": cpu_s, "max_rss_mib": max_rss, "exit_code": exit_code}


def compare_with_bare(args: argparse.Namespace, seeds: Path, work: Path) -> None:
    server, base_url = start_teacher(args.bare_latency, args.capacity)
    n = args.bare_n
    try:
        requests = write_requests(seeds, n, base_url, work)
        print(
            f"against a bare AsyncOpenAI + Semaphore loop: L = {args.bare_latency} s, "
            f"K = {args.capacity} (ceiling {args.capacity / args.bare_latency:.0f} req/s), "
            f"N = {n}, concurrency {DEFAULT_CONCURRENCY}, {os.cpu_count()} CPUs"
        )
        print("(requests/s from the first request to the last answer; CPU: the whole process,")
        print(" start-up included, from its own rusage)")
        print(f"{'round':<6} {'':<8} {'req/s':>7} {'CPU s':>6} {'ms CPU/req':>10} {'exit':>4}")
        speed: list[float] = []
        cpu: list[float] = []
        bare_total: list[float] = []  # CPU per request of each round
        ours_total: list[float] = []
        for round_ in range(1, args.rounds + 1):
            # Each goes first every other round: the server warms up and the box's load drifts.
            if round_ % 2:
                bare = run_bare(requests, base_url, DEFAULT_CONCURRENCY, work)
                ours = run_generation(base_url, seeds, n, DEFAULT_CONCURRENCY, work)
            else:
                ours = run_generation(base_url, seeds, n, DEFAULT_CONCURRENCY, work)
                bare = run_bare(requests, base_url, DEFAULT_CONCURRENCY, work)
            bare_rate = bare["requests"] / bare["request_s"]
            ours_rate = ours["generated_now"] / ours["request_s"]
            bare_cpu = bare["cpu_s"] / bare["requests"]
            ours_cpu = ours["cpu_s"] / max(ours["generated_now"], 1)
            for name, rate, result, per in (
                ("bare", bare_rate, bare, bare_cpu),
                ("magitui", ours_rate, ours, ours_cpu),
            ):
                print(
                    f"{round_:<6} {name:<8} {rate:>7.1f} {result['cpu_s']:>6.2f} "
                    f"{1000 * per:>10.2f} {result['exit_code']:>4}"
                )
            speed.append(ours_rate / bare_rate)
            cpu.append(ours_cpu / bare_cpu)
            bare_total.append(bare_cpu)
            ours_total.append(ours_cpu)
            print(f"{'':<6} ratio    {speed[-1]:>7.2f}× {'':>6} {cpu[-1]:>10.2f}×")
        print(
            f"magitui / bare (median of {args.rounds}): {statistics.median(speed):.2f}× the "
            f"requests/s (target ≥ 0.95×), {statistics.median(cpu):.2f}× the CPU per request "
            f"(target ≤ 1.1×); all rounds' CPU summed: {sum(ours_total) / sum(bare_total):.2f}×"
        )
        # What does not grow with N (start-up, imports, magitui's seed table and model list):
        # it weighs on small N (--quick) and fades on large ones.
        one = write_requests(seeds, 1, base_url, work)
        bare_fixed = run_bare(one, base_url, DEFAULT_CONCURRENCY, work)["cpu_s"]
        ours_fixed = run_generation(base_url, seeds, 1, DEFAULT_CONCURRENCY, work)["cpu_s"]
        print(
            f"start-up, one request alone: bare {bare_fixed:.2f} s CPU, magitui "
            f"{ours_fixed:.2f} s CPU; with that taken out, magitui / bare per request "
            f"(last round): {(ours['cpu_s'] - ours_fixed) / (bare['cpu_s'] - bare_fixed):.2f}×\n"
        )
    finally:
        server.terminate()
        server.wait()


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
    # 0.2 s at K = 64 is 320 requests/s: more than two cores of HTTP client can carry, so what
    # magitui adds per request to the bare client shows in both throughput and CPU.
    parser.add_argument("--bare-latency", type=float, default=0.2, help="L against the bare loop")
    parser.add_argument("--bare-n", type=int, default=3200, help="requests against the bare loop")
    parser.add_argument("--rounds", type=int, default=3, help="bare/magitui pairs, alternated")
    parser.add_argument("--bare-only", action="store_true", help="only the bare-loop comparison")
    parser.add_argument("--quick", action="store_true", help="small N everywhere (~1 minute)")
    args = parser.parse_args()
    if args.quick:
        args.n, args.sequential_n, args.memory_n = 400, 3, [500, 2000]
        args.bare_n, args.rounds = 640, 1

    work = Path(tempfile.mkdtemp(prefix="magitui-genbench-"))
    seeds = write_seeds(work, max(args.n, args.bare_n, args.sequential_n, *args.memory_n))
    compare_with_bare(args, seeds, work)
    if args.bare_only:
        return
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
