"""Run the scripted model as a server job, as `magitui serve` would run a real one:
``python -m tests.eval.serve_scripted --port P --model NAME [--wrong 0,3,7]``.

The Eval screen finds server jobs by their ``--port`` and ``--model``; tasks whose numbers
are listed after ``--wrong`` get a wrong answer, every other task the canonical solution."""

from __future__ import annotations

import argparse
import signal
import threading

from magitui_core.eval.benchmarks import load_benchmark
from tests.eval.scripted_model import ScriptedModel


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--wrong", default="")
    args = parser.parse_args()
    wrong = {f"HumanEval/{n}": "wrong" for n in args.wrong.split(",") if n}
    server = ScriptedModel(
        load_benchmark("humaneval"), wrong, port=args.port, model=args.model
    ).start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print(f"serving {args.model} at {server.base_url}", flush=True)
    stop.wait()
    server.close()


if __name__ == "__main__":
    main()
