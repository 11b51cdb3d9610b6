"""Train: training jobs with live loss and learning-rate curves, throughput, ETA, checkpoints,
and the cause and fix of a failed run. Everything is rebuilt from the job's events, so
reopening the app redraws the curves and keeps following."""

from __future__ import annotations

import time
from dataclasses import dataclass

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import DataTable, Static

from magitui.formatting import STATE_COLOURS, format_duration, state_label
from magitui.screens.job_list import JobListScreen
from magitui.widgets.job_table import JobsTable
from magitui.widgets.line_chart import LineChart
from magitui_core.events import EventReader
from magitui_core.jobs import JobInfo
from magitui_core.train_diagnosis import Diagnosis, diagnose
from magitui_core.train_series import TrainSeries

TRAIN_ENTRY = "magitui_core.train"
HOW_TO_START = (
    "No training jobs yet. Start one from a shell:\n"
    "  magitui train --data train.jsonl --base-model MODEL --out DIR [--run RUN]\n"
    "It runs as a detached job and appears here with live curves."
)


@dataclass
class TrainSnapshot:
    jobs: list[JobInfo]
    taken_at: float
    job: JobInfo | None
    series: TrainSeries | None
    diagnosis: Diagnosis | None


class TrainScreen(JobListScreen):
    TITLE_TEXT = "Train"
    POLL_WHAT = "training jobs"
    AUTO_FOCUS = "JobsTable"
    BINDINGS = [Binding("r", "resume_job", "Resume")]

    def __init__(
        self, name: str | None = None, id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._followed: dict[str, tuple[EventReader, TrainSeries]] = {}
        self._selected_id: str | None = None

    def compose_body(self) -> ComposeResult:
        with Vertical(classes="panel kind-jobs", id="train-jobs"):
            yield JobsTable()
            yield Static(HOW_TO_START, classes="empty-state")
        yield Static("", id="train-stats")
        with Horizontal(id="train-charts"):
            yield LineChart("loss", id="loss-chart")
            yield LineChart("learning rate", id="lr-chart")
        yield Static("", id="train-info")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#train-jobs").border_title = "Training jobs"

    # ---- polling ---------------------------------------------------------------------------
    def collect(self) -> TrainSnapshot:
        jobs = [job for job in self.ctx.jobs.list_jobs() if job.status.kind == "train"]
        job = next((j for j in jobs if j.id == self._selected_id), jobs[0] if jobs else None)
        series = diagnosis = None
        if job is not None:
            if job.id not in self._followed:
                self._followed[job.id] = (EventReader(job.events_path), TrainSeries())
            reader, series = self._followed[job.id]
            series.feed(reader.read_new())
            if job.state.value in ("failed", "crashed"):
                diagnosis = diagnose(job.tail(80))
        return TrainSnapshot(jobs, time.time(), job, series, diagnosis)

    def apply(self, snapshot: TrainSnapshot) -> None:
        self.show_jobs(snapshot.jobs, snapshot.taken_at)
        panel = self.query_one("#train-jobs")
        panel.border_title = f"Training jobs · {len(snapshot.jobs)}"
        panel.set_class(not snapshot.jobs, "-empty")
        self.set_class(not snapshot.jobs, "-no-jobs")
        job, series = snapshot.job, snapshot.series
        if job is None or series is None:
            return
        self.query_one("#train-stats", Static).update(self._stats(job, series))
        self.query_one("#loss-chart", LineChart).set_data(series.losses)
        self.query_one("#lr-chart", LineChart).set_data(series.lrs)
        self.query_one("#train-info", Static).update(self._info(series, snapshot.diagnosis))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        super().on_data_table_row_highlighted(event)
        job = self.selected_job()
        if job is not None and job.id != self._selected_id:
            self._selected_id = job.id
            self.poll_now()

    # ---- rendering -------------------------------------------------------------------------
    def _stats(self, job: JobInfo, series: TrainSeries) -> Content:
        colour = f"${STATE_COLOURS[job.state]}"
        last = series.last
        total = series.total_steps
        step = last.get("step", 0)
        head = [f"[b {colour}]{state_label(job.state)}[/]", f"[b]{job.id}[/]"]
        if total:
            head.append(f"step {step}/{total} ({100 * step / total:.0f}%)")
        if last.get("epoch") is not None:
            head.append(f"epoch {last['epoch']:.2f}")
        if job.is_live and last.get("eta_s") is not None:
            head.append(f"ETA {format_duration(last['eta_s'])}")
        numbers = []
        if last:
            numbers.append(f"loss {last['loss']:.4f}")
            if last.get("lr") is not None:
                numbers.append(f"lr {last['lr']:.2e}")
            numbers.append(f"{last.get('tokens_per_s', 0):,.0f} tok/s")
            numbers.append(f"pad {100 * last.get('pad_share', 0):.1f}%")
            if last.get("gpu_mem_gb"):
                numbers.append(
                    "GPU " + " | ".join(f"{gb:.1f}" for gb in last["gpu_mem_gb"]) + " GB"
                )
        elif job.is_live:
            numbers.append("[$text-muted]loading the model and data…[/]")
        text = "  ".join(head) + "\n" + ("  ".join(numbers) if numbers else "")
        return Content.from_markup(text)

    def _info(self, series: TrainSeries, diagnosis: Diagnosis | None) -> Content:
        lines = []
        if diagnosis is not None:
            lines.append(Content.from_markup("[b $error]Cause[/] $cause", cause=diagnosis.cause))
            lines.append(Content.from_markup("[b $success]Fix[/]   $fix", fix=diagnosis.fix))
        elif series.error:
            lines.append(Content.from_markup("[b $error]Error[/] $e", e=series.error))
        if series.final:
            lines.append(Content.from_markup("[b]Model[/] $final", final=series.final))
        on_disk = [c.rsplit("/", 1)[-1] for c in series.checkpoints_on_disk()]
        if on_disk:
            lines.append(Content.from_markup("[b]Checkpoints[/] $c", c=", ".join(on_disk)))
        if series.rows is not None:
            lines.append(
                Content.from_markup(
                    "[$text-muted]$rows rows, $trunc truncated[/]",
                    rows=str(series.rows),
                    trunc=str(series.truncated or 0),
                )
            )
        return Content("\n").join(lines)

    # ---- actions ---------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "resume_job":
            job = self.selected_job()
            return (job is not None and not job.is_live and _is_training(job)) or None
        return super().check_action(action, parameters)

    def binding_state(self) -> tuple[object, ...]:
        job = self.selected_job()
        resumable = job is not None and not job.is_live and _is_training(job)
        return (*super().binding_state(), resumable)

    def action_resume_job(self) -> None:
        job = self.selected_job()
        if job is None or job.is_live or not _is_training(job):
            return
        command = list(job.status.command)
        if "--resume" not in command:
            command.append("--resume")
        started = self.ctx.jobs.start(
            command, name=job.status.name, kind="train", run=job.status.run
        )
        self._selected_id = started.id
        self.notify(f"Resuming from the newest checkpoint as job {started.id}.", title="Resumed")
        self.poll_now()


def _is_training(job: JobInfo) -> bool:
    return TRAIN_ENTRY in job.status.command
