"""The curation job: ``python -m magitui_core.curation.preprocess IN.jsonl ... --out train.jsonl``.

Run detached by the Data screen (or directly); progress, the benchmarks checked and not
checked, bad lines and the summary go to the job's events.jsonl when it runs as a job, and a
short text log goes to stdout. With no options it follows Magicoder's recipe (see pipeline).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from magitui_core.curation.benchmarks import (
    BENCHMARKS,
    BenchmarkError,
    BenchmarkSet,
    parse_benchmark_files,
)
from magitui_core.curation.decontaminate import METHODS
from magitui_core.curation.formats import AUTO, FORMATS, FormatError
from magitui_core.curation.pipeline import (
    DEDUPE_MODES,
    DEFAULT_MINHASH_THRESHOLD,
    DEFAULT_SHUFFLE_SEED,
    HELP,
    RECIPE,
    CurateOptions,
    CurationError,
    curate,
)
from magitui_core.curation.read_pass import Parallelism
from magitui_core.jobs.events import EventWriter

MAX_BAD_LINE_EVENTS = 20  # the report has them all; the event stream only a sample
PROGRESS_EVERY = 0.5  # seconds between progress events within one stage


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m magitui_core.curation.preprocess",
        description="Clean, dedupe, decontaminate and format instruction data; with no options "
        "as Magicoder's clean_data.py, find_substrings.py and preprocess_data.py do.",
    )
    parser.add_argument("inputs", nargs="+", type=Path, help="JSONL files to combine")
    parser.add_argument("--out", required=True, type=Path, help="formatted JSONL to write")
    parser.add_argument("--report", type=Path, help="JSON report of every removal")
    parser.add_argument("--format", dest="fmt", default=AUTO, choices=FORMATS)
    parser.add_argument("--dedupe", default="exact", choices=DEDUPE_MODES, help=HELP["dedupe"])
    parser.add_argument(
        "--minhash-threshold",
        type=float,
        default=DEFAULT_MINHASH_THRESHOLD,
        help=HELP["minhash_threshold"],
    )
    parser.add_argument(
        "--drop-copied-solutions", action="store_true", help=HELP["drop_copied_solutions"]
    )
    parser.add_argument(
        "--decontaminate",
        default="all",
        metavar=f"all|none|{','.join(BENCHMARKS)}",
        help=HELP["decontaminate"],
    )
    parser.add_argument(
        "--decontaminate-method",
        default="substring",
        choices=METHODS,
        help=HELP["decontaminate_method"],
    )
    parser.add_argument(
        "--benchmark-file",
        action="append",
        default=[],
        metavar="NAME=PATH",
        help=HELP["benchmark_file"],
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SHUFFLE_SEED, help=HELP["seed"])
    parser.add_argument("--no-shuffle", action="store_true", help=HELP["no_shuffle"])
    parser.add_argument("--workers", type=int, default=0, metavar="N", help=HELP["workers"])
    return parser


def options_from(args: argparse.Namespace) -> CurateOptions:
    return CurateOptions(
        fmt=args.fmt,
        dedupe=args.dedupe,
        minhash_threshold=args.minhash_threshold,
        drop_copied_solutions=args.drop_copied_solutions,
        decontaminate=args.decontaminate,
        decontaminate_method=args.decontaminate_method,
        benchmark_files=parse_benchmark_files(args.benchmark_file),
        shuffle=not args.no_shuffle,
        seed=args.seed,
    )


def recipe_line(options: CurateOptions) -> str:
    deviations = options.deviations()
    if not deviations:
        return f"recipe: {RECIPE}, as upstream (no deviation options)"
    return f"recipe: {RECIPE} with deviations: {', '.join(deviations)}"


class ProgressEvents:
    """Turns curation progress into throttled events and log lines."""

    def __init__(self, events: EventWriter | None) -> None:
        self.events = events
        self.stage = ""
        self.last = 0.0

    def __call__(self, stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        finished = done >= total
        if stage == self.stage and not finished and now - self.last < PROGRESS_EVERY:
            return
        if stage != self.stage:
            print(f"{stage}…", flush=True)
        self.stage, self.last = stage, now
        if self.events is not None:
            self.events.emit("progress", done=done, total=total, message=stage)


class Announcer:
    """Says, before any reading, which benchmarks are checked and which cannot be, and why."""

    def __init__(self, events: EventWriter | None) -> None:
        self.events = events

    def __call__(self, benchmarks: BenchmarkSet) -> None:
        for checked in benchmarks.checked:
            self.say("log", checked.line(), benchmark=checked.name, passages=checked.counts)
        for skipped in benchmarks.skipped:
            self.say("warning", skipped.line(), benchmark=skipped.name, fix=skipped.fix)

    def say(self, kind: str, line: str, **fields: object) -> None:
        print(("warning: " if kind == "warning" else "") + line, flush=True)
        if self.events is not None:
            self.events.emit(kind, message=line, **fields)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    events = EventWriter.for_current_job()
    try:
        options = options_from(args)
        options.check()
        line = recipe_line(options)
        print(line, flush=True)
        if events is not None:
            events.emit("log", message=line, deviations=options.deviations())
        result = curate(
            args.inputs,
            args.out,
            options,
            args.report,
            ProgressEvents(events),
            Announcer(events),
            Parallelism(args.workers),
        )
    except (CurationError, FormatError, BenchmarkError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        if events is not None:
            events.emit("error", message=str(exc))
        return 1
    for bad in result.loaded.bad_lines[:MAX_BAD_LINE_EVENTS]:
        print(f"skipped {bad}", flush=True)
        if events is not None:
            events.emit("warning", message=f"skipped {bad}")
    summary = result.summary()
    for reason, count in summary["removed_by_reason"].items():
        print(f"removed {count:>8}  {reason}", flush=True)
    print(
        f"kept {summary['kept']} of {summary['read']} records "
        f"({summary['bad_lines']} bad lines) → {args.out} in {result.seconds:.1f}s",
        flush=True,
    )
    if events is not None:
        events.emit(
            "done",
            message=f"kept {summary['kept']} of {summary['read']}",
            output=str(args.out),
            report=str(args.report) if args.report else None,
            **summary,
        )
        events.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
