"""`magitui preprocess`: clean, dedupe, decontaminate and format in one step."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn
from rich.table import Table

from magitui.cli.base import CliContext, pass_ctx
from magitui_core.curation.benchmarks import BENCHMARKS, BenchmarkError, parse_benchmark_files
from magitui_core.curation.decontaminate import METHODS
from magitui_core.curation.formats import FORMATS
from magitui_core.curation.pipeline import (
    DEDUPE_MODES,
    DEFAULT_MINHASH_THRESHOLD,
    DEFAULT_SHUFFLE_SEED,
    HELP,
)
from magitui_core.curation.preprocess import recipe_line
from magitui_core.curation.read_pass import MAX_WORKERS_ASKED, Parallelism
from magitui_core.workspace import GENERATED_NAME

if TYPE_CHECKING:
    from magitui_core.curation.benchmarks import BenchmarkSet
    from magitui_core.curation.pipeline import CurationResult

DEFAULT_OUT = "train.jsonl"
DEFAULT_REPORT = "curation-report.json"
MAX_BAD_LINES_SHOWN = 20
REDRAW_EVERY = 0.1  # seconds between redraws of the bars


def _resolve(
    ctx: CliContext, run: str | None, inputs: tuple[str, ...], out: str | None, report: str | None
) -> tuple[list[Path], Path, Path | None]:
    """With --run, relative paths live in the run's data folder, so they cannot go astray."""
    if run is None:
        if not inputs:
            raise click.UsageError("give IN.jsonl (or --run NAME to read its data/generated.jsonl)")
        if out is None:
            raise click.UsageError("--out FILE is required (or give --run NAME to use its data/)")
        return [Path(p) for p in inputs], Path(out), Path(report) if report else None
    from magitui_core.workspace import WorkspaceError

    try:
        data = ctx.get().workspace.get_run(run).path / "data"
    except WorkspaceError as exc:
        raise click.ClickException(str(exc)) from None

    def place(name: str) -> Path:
        path = Path(name).expanduser()
        return path if path.is_absolute() else data / path

    return (
        # The run's generator output by default: `generate --run R` then `preprocess --run R`.
        [place(p) for p in inputs or (GENERATED_NAME,)],
        place(out or DEFAULT_OUT),
        place(report or DEFAULT_REPORT),
    )


@click.command()
@click.argument("inputs", nargs=-1, metavar="[IN.jsonl ...]")
@click.option("--out", "-o", metavar="FILE", help="Formatted JSONL (instruction, response).")
@click.option("--run", metavar="RUN", help="Resolve relative paths in runs/RUN/data/.")
@click.option(
    "--dedupe",
    type=click.Choice(list(DEDUPE_MODES)),
    default="exact",
    show_default=True,
    help=HELP["dedupe"],
)
@click.option(
    "--minhash-threshold",
    type=float,
    default=DEFAULT_MINHASH_THRESHOLD,
    show_default=True,
    help=HELP["minhash_threshold"],
)
@click.option("--drop-copied-solutions", is_flag=True, help=HELP["drop_copied_solutions"])
@click.option(
    "--decontaminate",
    default="all",
    show_default=True,
    metavar=f"all|none|{','.join(BENCHMARKS)}",
    help=HELP["decontaminate"],
)
@click.option(
    "--decontaminate-method",
    type=click.Choice(list(METHODS)),
    default="substring",
    show_default=True,
    help=HELP["decontaminate_method"],
)
@click.option(
    "--benchmark-file",
    "benchmark_files",
    multiple=True,
    metavar="NAME=PATH",
    help=HELP["benchmark_file"],
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(list(FORMATS)),
    default="auto",
    show_default=True,
    help="Input shape; auto tells each file's shape from its fields.",
)
@click.option("--report", metavar="FILE", help="JSON report listing every removed record.")
@click.option(
    "--seed", type=int, default=DEFAULT_SHUFFLE_SEED, show_default=True, help=HELP["seed"]
)
@click.option("--no-shuffle", is_flag=True, help=HELP["no_shuffle"])
@click.option(
    "--workers",
    type=click.IntRange(0, MAX_WORKERS_ASKED),
    default=0,
    show_default=True,
    metavar="N",
    help=HELP["workers"],
)
@pass_ctx
def preprocess(
    ctx: CliContext,
    inputs: tuple[str, ...],
    out: str | None,
    run: str | None,
    dedupe: str,
    minhash_threshold: float,
    drop_copied_solutions: bool,
    decontaminate: str,
    decontaminate_method: str,
    benchmark_files: tuple[str, ...],
    fmt: str,
    report: str | None,
    seed: int,
    no_shuffle: bool,
    workers: int,
) -> None:
    """Clean, dedupe, decontaminate and format generated data for training.

    Combines IN files (generated problem/solution, evol-instruct, codealpaca or
    instruction/response JSONL; with --run and no IN, the run's generated.jsonl),
    writes OUT atomically and prints what was kept and removed. Unreadable lines are
    reported as file:line and skipped.

    With no options it is Magicoder's recipe: shuffle everything with seed 666, drop
    records whose seed, problem or solution (whitespace removed) was already seen, drop
    records containing a passage of MBPP, HumanEval, APPS, GSM8K or DS-1000 (lower-cased
    substring search), and format the rest in the shuffled order. The options marked
    "deviation" change that recipe; the output and the report name the ones in force.
    """
    from magitui_core.curation.formats import FormatError
    from magitui_core.curation.pipeline import CurateOptions, CurationError, curate

    paths, out_path, report_path = _resolve(ctx, run, inputs, out, report)
    _warn_if_still_generating(ctx, paths)
    try:
        options = CurateOptions(
            fmt=fmt,
            dedupe=dedupe,
            minhash_threshold=minhash_threshold,
            drop_copied_solutions=drop_copied_solutions,
            decontaminate=decontaminate,
            decontaminate_method=decontaminate_method,
            benchmark_files=parse_benchmark_files(benchmark_files),
            shuffle=not no_shuffle,
            seed=seed,
        )
        options.check()
        with CurationProgress() as progress:
            progress.say(recipe_line(options))
            result = curate(
                paths,
                out_path,
                options,
                report_path,
                progress.update,
                progress.announce,
                Parallelism(workers),
            )
    except (CurationError, FormatError, BenchmarkError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    print_summary(result, report_path)


def _warn_if_still_generating(ctx: CliContext, paths: list[Path]) -> None:
    from magitui_core.generation.jobs import writing_job

    jobs = ctx.get().jobs
    for path in paths:
        job = writing_job(jobs, path)
        if job is not None:  # a warning, not a refusal: a partial check can be what is wanted
            click.secho(
                f"warning: generation job {job.id} is still writing {path} — this curation "
                "misses what it writes next; rerun when it ends",
                err=True,
                fg="yellow",
            )


class CurationProgress:
    """One bar per stage on stderr; silent when stderr is not a terminal."""

    def __init__(self) -> None:
        self.console = Console(stderr=True)
        self.progress = Progress(
            TextColumn("{task.description:<24}"),
            BarColumn(),
            MofNCompleteColumn(),
            console=self.console,
            transient=True,
            disable=not sys.stderr.isatty(),
            # Drawn when curation reports, not by a thread of its own: the bars move only
            # then, and no thread is writing to the terminal when curation forks its workers.
            auto_refresh=False,
        )
        self.tasks: dict[str, TaskID] = {}
        self.drawn = 0.0

    def say(self, line: str, style: str = "") -> None:
        """A line on stderr, above the bars (the summary table goes to stdout)."""
        self.console.print(line, style=style, markup=False, highlight=False, soft_wrap=True)

    def announce(self, benchmarks: BenchmarkSet) -> None:
        for checked in benchmarks.checked:
            self.say(checked.line())
        for skipped in benchmarks.skipped:
            self.say(f"warning: {skipped.line()}", style="yellow")

    def update(self, stage: str, done: int, total: int) -> None:
        if stage not in self.tasks:
            self.tasks[stage] = self.progress.add_task(stage, total=total)
        now = time.monotonic()
        refresh = done >= total or now - self.drawn >= REDRAW_EVERY
        if refresh:
            self.drawn = now
        self.progress.update(self.tasks[stage], completed=done, total=total, refresh=refresh)

    def __enter__(self) -> CurationProgress:
        self.progress.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.progress.stop()


def print_summary(result: CurationResult, report_path: Path | None) -> None:
    console = Console(highlight=False, soft_wrap=True)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    bad = result.loaded.bad_lines
    for line in bad[:MAX_BAD_LINES_SHOWN]:
        err.print(f"skipped {line}", markup=False)
    if len(bad) > MAX_BAD_LINES_SHOWN:
        more = len(bad) - MAX_BAD_LINES_SHOWN
        where = f" — all listed in {report_path}" if report_path else " (use --report to list all)"
        err.print(f"… and {more} more bad lines{where}", markup=False)
    summary = result.summary()
    table = Table(title=f"Curation · {result.seconds:.1f}s", title_justify="left")
    table.add_column("", overflow="fold")  # long input paths fold, counts never do
    table.add_column("records", justify="right", no_wrap=True, min_width=9)
    table.add_row("read", f"{summary['read']:,}")
    for item in result.loaded.inputs:
        table.add_row(f"  {item.file} ({item.format})", f"{item.records:,}", style="dim")
    table.add_row("bad lines skipped", f"{summary['bad_lines']:,}")
    for reason, count in summary["removed_by_reason"].items():
        table.add_row(f"removed: {reason}", f"{count:,}")
    table.add_row("kept", f"{summary['kept']:,}", style="bold")
    console.print(table)
    console.print(benchmarks_line(result), markup=False)
    console.print(f"wrote {result.output}", markup=False)
    if report_path is not None:
        console.print(f"report {report_path}", markup=False)


def benchmarks_line(result: CurationResult) -> str:
    """One line for the end of the output: what decontamination covered, and what it did not."""
    benchmarks = result.benchmarks
    if benchmarks is None:
        return "decontamination: none (--decontaminate none)"
    checked = ", ".join(
        f"{c.name} ({sum(c.counts.values()):,} passages)" for c in benchmarks.checked
    )
    line = f"decontaminated against: {checked or 'nothing'}"
    if benchmarks.skipped:
        line += f"; not checked: {', '.join(s.name for s in benchmarks.skipped)} (see warnings)"
    return line
