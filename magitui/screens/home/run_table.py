"""The runs table on Home."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from rich.text import Text
from textual.binding import Binding

from magitui.formatting import NONE, format_timestamp, truncate
from magitui.widgets.keyed_table import Column, KeyedTable, Row
from magitui_core.workspace import RunInfo


class RunsTable(KeyedTable):
    COLUMNS = (
        Column("name", "Name"),
        Column("created", "Created"),
        Column("jobs", "Jobs"),
        Column("eval", "Eval"),  # the newest pass@1, with its delta against the base
    )
    BINDINGS = [
        Binding("enter", "screen.open_run", "Open in Data"),
        Binding("r", "screen.rename_run", "Rename"),
        Binding("x,delete", "screen.delete_run", "Delete"),
    ]


def run_rows(runs: Iterable[RunInfo], scores: Mapping[str, str] | None = None) -> list[Row]:
    scores = scores or {}
    return [
        (
            run.name,
            {
                "name": Text(truncate(run.name, 40)),
                "created": Text(format_timestamp(run.created_at)),
                "jobs": Text(str(run.job_count), justify="right"),
                "eval": Text(scores.get(run.name, NONE)),
            },
        )
        for run in runs
    ]
