"""One job: its status, its latest events, and its output as it is written."""

from __future__ import annotations

import shlex
import time
from dataclasses import dataclass, field
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Vertical
from textual.content import Content
from textual.widgets import Label, Log, Static

from magitui.formatting import (
    NONE,
    STATE_COLOURS,
    format_duration,
    format_event,
    format_timestamp,
    state_label,
)
from magitui.job_actions import JobStopped, request_stop
from magitui.log_text import clean_line
from magitui.screens.base import PollingScreen
from magitui.widgets.border_text import set_border_subtitle
from magitui.widgets.log_search import SearchableLog
from magitui.widgets.log_tail import INITIAL_TAIL_BYTES, OutputTail
from magitui_core.jobs.events import EventReader
from magitui_core.jobs.manager import JobInfo
from magitui_core.jobs.status import JobState

LOG_MAX_LINES = 5000
EVENTS_MAX_LINES = 200
FINISHED_POLL_SECONDS = 2.0

FIELDS = (
    ("id", "ID"),
    ("state", "State"),
    ("name", "Name"),
    ("run", "Run"),
    ("pid", "PID"),
    ("exit", "Exit"),
    ("started", "Started"),
    ("duration", "Duration"),
    ("command", "Command"),
    ("problem", "Error"),
)
WIDE_FIELDS = ("command", "problem")


@dataclass
class DetailSnapshot:
    job: JobInfo
    taken_at: float
    new_lines: list[str] = field(default_factory=list)
    partial: str = ""
    new_events: list[dict[str, Any]] = field(default_factory=list)
    log_reset: bool = False
    leftovers: int = 0  # processes of a crashed job that still run


class JobDetailScreen(PollingScreen):
    AUTO_FOCUS = "#job-log"
    # Tall terminals have room for more events above the output.
    VERTICAL_BREAKPOINTS = [(0, "-short"), (36, "-tall")]
    BINDINGS = [
        Binding("escape", "close", "Back"),
        Binding("k", "stop_job", "Stop job"),
        Binding("e", "toggle_events", "Events"),
    ]

    def __init__(self, job_id: str) -> None:
        super().__init__(classes="job-detail")
        self.job_id = job_id
        self._job: JobInfo | None = None
        self._shown: dict[str, Content] = {}
        # Touched only by the poll thread; polls never overlap (see PollingScreen).
        self._tail: OutputTail | None = None
        self._events: EventReader | None = None

    @property
    def title_text(self) -> str:
        return f"Job {self.job_id}"

    @property
    def poll_what(self) -> str:
        return f"job {self.job_id}"

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "stop_job":
            return (self._job is not None and self._job.is_live) or None
        return True

    def binding_state(self) -> tuple[object, ...]:
        return (self._job is not None and self._job.is_live,)

    @property
    def poll_seconds(self) -> float:
        if self._job is not None and not self._job.is_live:
            return FINISHED_POLL_SECONDS  # nothing more will be written, normally
        # Output is what people watch here: follow it a little faster than lists.
        return min(self.ctx.config.ui.refresh_seconds, 0.5)

    def compose_body(self) -> ComposeResult:
        with Grid(id="job-fields"):
            for key, label in FIELDS:
                wide = "wide" if key in WIDE_FIELDS else ""
                yield Label(label, classes=f"field-name {wide}", id=f"label-{key}")
                yield Label(NONE, classes=f"field-value {wide}", id=f"field-{key}")
        with Vertical(id="events-panel", classes="panel"):
            yield Log(id="job-events", max_lines=EVENTS_MAX_LINES)
        with Vertical(id="log-panel", classes="panel"):
            yield SearchableLog(log_id="job-log", max_lines=LOG_MAX_LINES)
            yield Static(id="job-partial", markup=False)

    def on_mount(self) -> None:
        self.query_one("#events-panel").border_title = "Events"
        self.query_one("#log-panel").border_title = "Output"
        self.query_one("#job-partial").display = False

    # ---- polling ---------------------------------------------------------------------------
    def collect(self) -> DetailSnapshot:
        job = self.ctx.jobs.get(self.job_id)
        snapshot = DetailSnapshot(job=job, taken_at=time.time())
        snapshot.leftovers = len(job.leftover_pids())
        if self._tail is None:
            self._tail = OutputTail(job.output_path)
            self._events = EventReader(job.events_path, from_end=INITIAL_TAIL_BYTES)
        read = self._tail.read()
        snapshot.new_lines, snapshot.partial, snapshot.log_reset = (
            read.lines,
            read.partial,
            read.reset,
        )
        if self._events is not None:
            snapshot.new_events = self._events.read_new()
        return snapshot

    def apply(self, snapshot: DetailSnapshot) -> None:
        self._job = snapshot.job
        self.sync_bindings()
        self._show_fields(snapshot.job, snapshot.taken_at, snapshot.leftovers)
        log = self.query_one("#job-log", Log)
        if snapshot.log_reset:
            log.clear()
        if snapshot.new_lines:
            log.write_lines(snapshot.new_lines)
            self.query_one(SearchableLog).refresh_count()
        partial = self.query_one("#job-partial", Static)
        partial.display = bool(snapshot.partial)
        if snapshot.partial:
            partial.update(snapshot.partial)
        if snapshot.new_events:
            self.query_one("#job-events", Log).write_lines(
                clean_line(format_event(event)) for event in snapshot.new_events
            )
        output = self.query_one("#log-panel")
        set_border_subtitle(output, "" if log.line_count else "no output yet")

    def _show_fields(self, job: JobInfo, at: float, leftovers: int = 0) -> None:
        status = job.status
        colour = STATE_COLOURS[job.state]
        exit_text = NONE
        if status.exit_code is not None:
            exit_text = str(status.exit_code) + (f" ({status.signal})" if status.signal else "")
        elif status.signal:
            exit_text = status.signal
        pid = NONE if status.pid is None else str(status.pid)
        if status.child_pid is not None:
            pid += f" (command {status.child_pid})"
        problem = status.error or job.note
        failed = job.state in (JobState.FAILED, JobState.CRASHED)
        values = {
            "id": Content(job.id),
            "state": Content.from_markup(
                f"[b ${colour}]$state[/]$live",
                state=state_label(job.state),
                # A crashed job whose processes still run holds GPUs and files: say how many.
                live=f" · {leftovers} still running" if leftovers else "",
            ),
            "name": Content(status.name),
            "run": Content(status.run or NONE),
            "pid": Content(pid),
            "exit": Content(exit_text),
            "started": Content(format_timestamp(status.started_at or status.created_at)),
            "duration": Content(format_duration(job.duration(at))),
            "command": Content(shlex.join(status.command)),
            "problem": Content.from_markup(
                "[$error]$text[/]" if failed else "$text", text=problem or NONE
            ),
        }
        values["label-problem"] = Content("Error" if status.error else "Note")
        for key, value in values.items():
            if self._shown.get(key) != value:  # an unchanged label is not re-laid out
                self._shown[key] = value
                widget_id = key if key.startswith("label-") else f"field-{key}"
                self.query_one(f"#{widget_id}", Label).update(value)
        has_problem = bool(problem)
        for widget_id in ("#label-problem", "#field-problem"):
            widget = self.query_one(widget_id)
            if widget.display != has_problem:
                widget.display = has_problem

    # ---- actions ---------------------------------------------------------------------------
    def action_close(self) -> None:
        self.dismiss()

    def action_stop_job(self) -> None:
        if self._job is None:
            return
        request_stop(self, self._job)

    def action_toggle_events(self) -> None:
        panel = self.query_one("#events-panel")
        panel.display = not panel.display

    def on_job_stopped(self, message: JobStopped) -> None:
        self.poll_now()
