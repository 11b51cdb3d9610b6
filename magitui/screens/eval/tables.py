"""The Eval screen's two tables: results of the run (with their live jobs) and problems
compared task by task."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual.binding import Binding

from magitui.formatting import NONE, state_label, truncate
from magitui.widgets.keyed_table import Cells, Column, KeyedTable, Row
from magitui_core.eval.jobs import job_out
from magitui_core.eval.results import EvalResult, TaskOutcome, change, delta
from magitui_core.jobs.manager import JobInfo
from magitui_core.jobs.status import command_value

FILTERS = ("all", "failed", "passed", "changed")
VERDICT_STYLES = {
    "passed": "green",
    "failed": "red",
    "partial": "yellow",
    "unscored": "dim",
    "fixed": "bold green",
    "broken": "bold red",
    "same": "dim",
}


class ResultsTable(KeyedTable):
    COLUMNS = (
        Column("slot", "Slot"),
        Column("model", "Model"),
        Column("benchmark", "Benchmark", min_table_width=72),
        Column("mode", "Mode"),
        Column("pass1", "pass@1"),
        Column("delta", "Δ"),
        Column("state", "State"),
    )
    BINDINGS = [Binding("k", "screen.stop_job", "Stop")]


class ProblemsTable(KeyedTable):
    COLUMNS = (
        Column("task", "Task"),
        Column("before", "Base"),
        Column("after", "Result"),
        Column("change", "Change"),
    )
    BINDINGS = [Binding("enter", "select_cursor", "Open")]

    def set_labels(self, before: str | None, after: str) -> None:
        """Name the compared columns after the two results (base / tuned / a model)."""
        for key, label in (("before", before or NONE), ("after", after)):
            for column_key, column in self.columns.items():
                if column_key.value == key and str(column.label) != label:
                    column.label = Text(label)
                    self.refresh()


@dataclass(frozen=True)
class ResultRow:
    key: str
    cells: Cells
    result: EvalResult | None  # None while the first evaluation into this folder runs
    job: JobInfo | None  # the newest job writing this folder


def _pct(value: float | None) -> str:
    return f"{value * 100:.1f} %" if value is not None else NONE


def result_rows(
    results: list[EvalResult],
    jobs: list[JobInfo],
    progress: dict[str, dict[str, Any]],
    errors: dict[str, str],
) -> list[ResultRow]:
    """One row per output folder: its newest job's state over its last finished result."""
    newest_job: dict[str, JobInfo] = {}
    for candidate in jobs:  # newest first
        out = job_out(candidate)
        if out is not None:
            newest_job.setdefault(str(out), candidate)
    by_folder = {str(r.folder): r for r in results}
    keys = [k for k, newest in newest_job.items() if newest.is_live and k not in by_folder]
    keys += list(by_folder)
    rows = []
    for key in keys:
        result = by_folder.get(key)
        job = newest_job.get(key)
        rows.append(
            ResultRow(key, _cells(key, result, job, progress, errors, results), result, job)
        )
    return rows


def _cells(
    key: str,
    result: EvalResult | None,
    job: JobInfo | None,
    progress: dict[str, dict[str, Any]],
    errors: dict[str, str],
    results: list[EvalResult],
) -> Cells:
    folder = key.rstrip("/").rsplit("/", 1)[-1]
    slot = (result.slot if result else None) or folder.split("-", 1)[0]
    model = result.model if result else _arg(job, "--model") or "?"
    change_value = delta(result, results) if result else None
    state = Text("done" if result else NONE)
    if job is not None and (job.is_live or result is None or job.status.ended_at is None):
        state = Text(state_label(job.state))
        stats = progress.get(job.id)
        if job.is_live and stats:
            state = Text(
                f"{stats.get('executed', 0)}/{stats.get('total', '?')} run · "
                f"{stats.get('passed', 0)} passed"
            )
        elif job.id in errors:
            state = Text(truncate(errors[job.id], 40), style="red")
    elif result is not None and result.summary.get("state") == "incomplete":
        state = Text("incomplete", style="yellow")
    delta_text = Text(f"{change_value * 100:+.1f}" if change_value is not None else NONE)
    if change_value:
        delta_text.stylize("green" if change_value > 0 else "red")
    return {
        "slot": Text(slot if slot in ("base", "tuned") else NONE),
        "model": Text(truncate(model.rstrip("/").rsplit("/", 1)[-1] or model, 28)),
        "benchmark": Text(result.benchmark if result else _arg(job, "--benchmark") or NONE),
        "mode": Text(str(result.summary.get("mode", NONE)) if result else NONE),
        "pass1": Text(_pct(result.pass1) if result else NONE, justify="right"),
        "delta": delta_text,
        "state": state,
    }


def _arg(job: JobInfo | None, flag: str) -> str | None:
    return command_value(list(job.status.command), flag) if job is not None else None


def task_order(task_id: str) -> tuple[str, int, str]:
    """HumanEval/2 before HumanEval/10."""
    prefix, _, number = task_id.rpartition("/")
    return (prefix, int(number), "") if number.isdigit() else (prefix, -1, task_id)


def _verdict_text(outcome: TaskOutcome | None) -> Text:
    if outcome is None:
        return Text(NONE)
    text = outcome.verdict
    if outcome.samples > 1:
        text += f" {outcome.passed}/{outcome.samples}"
    elif outcome.verdict == "failed" and outcome.result.removeprefix("failed: ").strip():
        text += " · " + outcome.result.removeprefix("failed: ").strip()
    elif outcome.result == "timed out":
        text = "failed · timed out"
    return Text(truncate(text, 34), style=VERDICT_STYLES.get(outcome.verdict, ""))


def problem_rows(
    before: dict[str, TaskOutcome], after: dict[str, TaskOutcome], shown: str
) -> list[Row]:
    rows: list[Row] = []
    for task in sorted(after, key=task_order):
        now, was = after[task], before.get(task)
        what = change(was, now) if before else NONE
        if shown == "failed" and now.verdict == "passed":
            continue
        if shown == "passed" and now.verdict != "passed":
            continue
        if shown == "changed" and what not in ("fixed", "broken"):
            continue
        rows.append(
            (
                task,
                {
                    "task": Text(task),
                    "before": _verdict_text(was) if before else Text(NONE),
                    "after": _verdict_text(now),
                    "change": Text(what, style=VERDICT_STYLES.get(what, "")),
                },
            )
        )
    return rows
