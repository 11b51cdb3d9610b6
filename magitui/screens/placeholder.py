"""Sections that are not built yet say so plainly: what they will do, and how to
do it headless in the meantime. No invented numbers."""

from __future__ import annotations

import time
from typing import ClassVar

from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import Static

from magitui.screens.base import MagituiScreen
from magitui.screens.job_list import JobListScreen
from magitui.widgets.border_text import set_border_title
from magitui.widgets.job_table import JobsTable
from magitui_core.jobs.manager import JobInfo


def intro(title: str, summary: str) -> Content:
    return Content("\n").join(
        [
            Content.from_markup("[b $primary]$title[/] [$text-muted]· coming soon[/]", title=title),
            Content(""),
            Content(summary),
        ]
    )


def plan(planned: tuple[str, ...], command: str) -> Content:
    lines = [
        Content.from_markup("[b]What this screen will do[/]"),
        *(Content.from_markup("  • $item", item=item) for item in planned),
        Content(""),
        Content.from_markup(
            "[b]Headless equivalent[/] [$accent]$command[/] [$text-muted](planned)[/]",
            command=command,
        ),
    ]
    return Content("\n").join(lines)


class PlaceholderScreen(MagituiScreen):
    SUMMARY: ClassVar[str] = ""
    PLANNED: ClassVar[tuple[str, ...]] = ()
    COMMAND: ClassVar[str] = ""

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(classes="placeholder"):
            yield Static(intro(self.TITLE_TEXT, self.SUMMARY), classes="intro")
            yield from self.compose_extra()
            yield Static(plan(self.PLANNED, self.COMMAND), classes="plan")

    def compose_extra(self) -> ComposeResult:
        yield from ()


class JobKindScreen(JobListScreen):
    """A placeholder that already lists the jobs of its kind, so it is never an empty shell."""

    SUMMARY: ClassVar[str] = ""
    PLANNED: ClassVar[tuple[str, ...]] = ()
    COMMAND: ClassVar[str] = ""
    JOB_KIND: ClassVar[str] = ""
    AUTO_FOCUS = "JobsTable"

    def compose_body(self) -> ComposeResult:
        with Vertical(classes="placeholder"):
            yield Static(intro(self.TITLE_TEXT, self.SUMMARY), classes="intro")
            yield Static(plan(self.PLANNED, self.COMMAND), classes="plan")
        with Vertical(classes="panel kind-jobs"):
            yield JobsTable()
            yield Static(
                Content.from_markup(
                    "No $kind jobs yet. Jobs started with kind [b]$kind[/b] appear here; "
                    "all jobs are on Home ([b]h[/b]).",
                    kind=self.JOB_KIND,
                ),
                classes="empty-state",
            )

    def on_mount(self) -> None:
        self.query_one(".kind-jobs").border_title = f"{self.TITLE_TEXT} jobs"

    def collect(self) -> tuple[list[JobInfo], float]:
        jobs = [job for job in self.ctx.jobs.list_jobs() if job.status.kind == self.JOB_KIND]
        return jobs, time.time()

    def apply(self, snapshot: tuple[list[JobInfo], float]) -> None:
        jobs, taken_at = snapshot
        self.show_jobs(jobs, taken_at)
        panel = self.query_one(".kind-jobs")
        set_border_title(panel, f"{self.TITLE_TEXT} jobs · {len(jobs)}")
        panel.set_class(not jobs, "-empty")
