"""The runs table on Home."""

from __future__ import annotations

from collections.abc import Iterable

from rich.text import Text
from textual.binding import Binding

from magitui.formatting import format_timestamp, truncate
from magitui.widgets.keyed_table import Column, KeyedTable, Row
from magitui_core.workspace import RunInfo


class RunsTable(KeyedTable):
    COLUMNS = (
        Column("name", "Name"),
        Column("created", "Created"),
        Column("jobs", "Jobs"),
    )
    BINDINGS = [
        Binding("enter", "screen.open_run", "Open in Data"),
        Binding("r", "screen.rename_run", "Rename"),
        Binding("x,delete", "screen.delete_run", "Delete"),
    ]


def run_rows(runs: Iterable[RunInfo]) -> list[Row]:
    return [
        (
            run.name,
            {
                "name": Text(truncate(run.name, 40)),
                "created": Text(format_timestamp(run.created_at)),
                "jobs": Text(str(run.job_count), justify="right"),
            },
        )
        for run in runs
    ]
