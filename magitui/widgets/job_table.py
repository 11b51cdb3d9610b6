"""The jobs table used by Home, Generate and Train."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from rich.style import Style
from rich.text import Text
from textual.binding import Binding

from magitui.formatting import (
    NONE,
    STATE_COLOURS,
    format_duration,
    format_short_timestamp,
    state_label,
    truncate,
)
from magitui.widgets.keyed_table import Cells, Column, KeyedTable, Row
from magitui_core.jobs.manager import JobInfo


class JobsTable(KeyedTable):
    """Jobs, newest first. Enter opens one, ``k`` stops it (handled by the screen)."""

    COLUMNS = (
        Column("id", "ID"),
        # The id already starts with the name, so the name goes first when space is short.
        Column("name", "Name", min_table_width=100),
        # At 60 columns the id and the state are what must show; the run and the duration
        # come back as the table widens (a 31-character id leaves no room for them).
        Column("run", "Run", min_table_width=66),
        Column("state", "State"),
        Column("duration", "Duration", min_table_width=62),
        Column("ended", "Ended", min_table_width=90),
    )
    BINDINGS = [
        Binding("enter", "screen.open_job", "Details"),
        Binding("k", "screen.stop_job", "Stop job"),
    ]


def job_cells(job: JobInfo, at: float, colours: Mapping[str, str]) -> Cells:
    """The row for one job; ``at`` is when the snapshot was taken (for live durations)."""
    colour = colours.get(STATE_COLOURS[job.state])
    bold = job.state.value in ("running", "failed", "crashed")
    state_style = Style(color=colour, bold=bold) if colour else Style(bold=bold)
    return {
        "id": Text(job.id),
        "name": Text(truncate(job.status.name, 24)),
        "run": Text(truncate(job.status.run or NONE, 14)),
        "state": Text(state_label(job.state), style=state_style),
        "duration": Text(format_duration(job.duration(at)), justify="right"),
        "ended": Text(format_short_timestamp(job.status.ended_at) if not job.is_live else NONE),
    }


def job_rows(jobs: Iterable[JobInfo], at: float, colours: Mapping[str, str]) -> list[Row]:
    return [(job.id, job_cells(job, at, colours)) for job in jobs]
