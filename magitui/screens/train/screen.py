"""Train: training jobs with live loss and learning-rate curves, throughput, ETA, checkpoints,
the log tail (followed, searchable) and the cause and fix of a failed run. Everything is
rebuilt from the job's events and output, so reopening the app redraws the curves and keeps
following.

At 80x24 the curves and the log tail share one place (`l` swaps them, `/` goes to the log and
searches it); from 40 rows up both are shown."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import DataTable, Static

from magitui.formatting import STATE_COLOURS, format_duration, state_label
from magitui.screens.job_list import JobListScreen
from magitui.screens.train.line_chart import LineChart
from magitui.widgets.border_text import set_border_subtitle, set_border_title
from magitui.widgets.confirm import ConfirmScreen
from magitui.widgets.job_table import JobsTable
from magitui.widgets.live_static import LiveStatic
from magitui.widgets.log_search import SearchableLog
from magitui.widgets.log_tail import OutputTail, TailRead
from magitui_core.jobs.events import EventReader
from magitui_core.jobs.manager import JobInfo
from magitui_core.training.diagnosis import Diagnosis, diagnose
from magitui_core.training.launch import newest_checkpoint, output_folder
from magitui_core.training.recipe import effective_summary
from magitui_core.training.series import TrainSeries

TRAIN_ENTRY = "magitui_core.training.sft"
LOG_MAX_LINES = 2000
HOW_TO_START = (
    "No training jobs yet. Press n for a new training (or from a shell: magitui train "
    "--data train.jsonl --base-model MODEL --out DIR). It runs as a detached job and shows "
    "here with live curves."
)


@dataclass
class TrainSnapshot:
    jobs: list[JobInfo]
    taken_at: float
    job: JobInfo | None
    series: TrainSeries | None
    diagnosis: Diagnosis | None
    output: TailRead | None = None


class TrainScreen(JobListScreen):
    CSS_PATH = "screen.tcss"
    TITLE_TEXT = "Train"
    POLL_WHAT = "training jobs"
    AUTO_FOCUS = "JobsTable"
    VERTICAL_BREAKPOINTS = [(0, "-short"), (40, "-tall")]
    BINDINGS = [
        Binding("n", "new_training", "New"),
        Binding("r", "resume_job", "Resume"),
        Binding("l", "toggle_log", "Log/curves"),
        Binding("slash", "search_log", "Search log", show=False),
    ]
    DEFAULT_CSS = """
    TrainScreen #train-log-panel {
        height: 1fr;
        min-height: 5;
        display: none;
    }
    TrainScreen.-show-log #train-log-panel, TrainScreen.-tall #train-log-panel {
        display: block;
    }
    TrainScreen.-show-log.-short #train-charts {
        display: none;
    }
    TrainScreen.-no-jobs #train-log-panel {
        display: none;
    }
    TrainScreen #train-log {
        background: $background;
    }
    """

    def __init__(
        self, name: str | None = None, id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._followed: dict[str, tuple[EventReader, TrainSeries]] = {}
        self._selected_id: str | None = None
        # Touched only by the poll thread (polls never overlap): the shown job's output.
        self._tail: tuple[str, OutputTail] | None = None

    def compose_body(self) -> ComposeResult:
        with Vertical(classes="panel kind-jobs", id="train-jobs"):
            yield JobsTable()
            yield Static(HOW_TO_START, classes="empty-state")
        yield LiveStatic("", id="train-stats")
        with Horizontal(id="train-charts"):
            yield LineChart("loss", id="loss-chart")
            yield LineChart("learning rate", id="lr-chart")
        with Vertical(id="train-log-panel", classes="panel"):
            yield SearchableLog(log_id="train-log", max_lines=LOG_MAX_LINES)
        yield LiveStatic("", id="train-info")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#train-jobs").border_title = "Training jobs"
        self.query_one("#train-log-panel").border_title = "Log"

    # ---- polling ---------------------------------------------------------------------------
    def collect(self) -> TrainSnapshot:
        jobs = [job for job in self.ctx.jobs.list_jobs() if job.status.kind == "train"]
        job = next((j for j in jobs if j.id == self._selected_id), jobs[0] if jobs else None)
        series = diagnosis = output = None
        if job is not None:
            tail = self._tail[1] if self._tail and self._tail[0] == job.id else None
            switched = tail is None
            if tail is None:
                tail = OutputTail(job.output_path)
                self._tail = (job.id, tail)
            output = tail.read()
            output.reset = output.reset or switched  # another job: start its log afresh
            if job.id not in self._followed:
                self._followed[job.id] = (EventReader(job.events_path), TrainSeries())
            reader, series = self._followed[job.id]
            series.feed(reader.read_new())
            if job.state.value in ("failed", "crashed"):
                diagnosis = diagnose(job.tail(80))
        return TrainSnapshot(jobs, time.time(), job, series, diagnosis, output)

    def apply(self, snapshot: TrainSnapshot) -> None:
        self.show_jobs(snapshot.jobs, snapshot.taken_at)
        panel = self.query_one("#train-jobs")
        set_border_title(panel, f"Training jobs · {len(snapshot.jobs)}")
        panel.set_class(not snapshot.jobs, "-empty")
        self.set_class(not snapshot.jobs, "-no-jobs")
        job, series = snapshot.job, snapshot.series
        if job is None or series is None:
            return
        self.query_one("#train-stats", LiveStatic).show_content(self._stats(job, series))
        self.query_one("#loss-chart", LineChart).set_data(series.losses, series.steps)
        self.query_one("#lr-chart", LineChart).set_data(series.lrs, series.steps)
        info = self._info(series, snapshot.diagnosis)
        self.query_one("#train-info", LiveStatic).show_content(info)
        if snapshot.output is not None:
            self._show_output(job, snapshot.output)

    def _show_output(self, job: JobInfo, output: TailRead) -> None:
        searchable = self.query_one(SearchableLog)
        log = searchable.match_log
        if output.reset:
            log.clear()
        if output.lines:
            log.write_lines(output.lines)
            searchable.refresh_count()
        panel = self.query_one("#train-log-panel")
        set_border_title(panel, f"Log · {job.id}")
        # The line being redrawn (a progress bar) is shown under the title, not appended.
        set_border_subtitle(
            panel,
            output.partial[-60:] if output.partial else ("" if log.line_count else "no output yet"),
        )

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
            # Packed batches have no padding by construction: say how they are built instead.
            numbers.append(
                "packed" if series.packing else f"pad {100 * last.get('pad_share', 0):.1f}%"
            )
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
        if series.effective:
            lines.append(
                Content.from_markup(
                    "[b]Recipe[/] $recipe", recipe=effective_summary(series.effective)
                )
            )
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
        if action in ("toggle_log", "search_log"):
            # Tall terminals show the log and the curves together: nothing to swap.
            has_job = self.selected_job() is not None
            return has_job and (action == "search_log" or not self.has_class("-tall"))
        if action == "resume_job":
            job = self.selected_job()
            return (job is not None and not job.is_live and _is_training(job)) or None
        return super().check_action(action, parameters)

    def binding_state(self) -> tuple[object, ...]:
        job = self.selected_job()
        resumable = job is not None and not job.is_live and _is_training(job)
        return (*super().binding_state(), resumable)

    def action_toggle_log(self) -> None:
        self.toggle_class("-show-log")
        searchable = self.query_one(SearchableLog)
        if self.has_class("-show-log"):
            searchable.match_log.focus()
        else:
            searchable.action_close_search()  # a hidden search would still hold the keys
            self.query_one(JobsTable).focus()

    def action_search_log(self) -> None:
        self.add_class("-show-log")
        self.query_one(SearchableLog).action_start_search()

    def action_new_training(self) -> None:
        from magitui.screens.train.new_training import NewTrainingScreen

        self.app.push_screen(NewTrainingScreen(on_started=self._started))

    def _started(self, job: JobInfo) -> None:
        self._selected_id = job.id
        if job.status.child_pid is None:
            self.notify(
                f"{job.id} failed to start: {job.status.error}", severity="error", timeout=10
            )
        else:
            self.notify(f"Training as job {job.id}.", title="Started", timeout=4)
        self.poll_now()

    def action_resume_job(self) -> None:
        job = self.selected_job()
        if job is None or job.is_live or not _is_training(job):
            return
        out = output_folder(job.status.command)
        checkpoint = newest_checkpoint(out) if out is not None else None
        if out is None or checkpoint is None:
            where = f"{out}/checkpoints" if out is not None else "its output folder"
            self.notify(
                f"Job {job.id} left no checkpoint in {where}: there is nothing to resume from.",
                title="Cannot resume",
                severity="warning",
            )
            return
        question = Content.from_markup(
            "Resume [b]$job[/] from [b]$checkpoint[/] as a new job? It continues training "
            "into $out and, when it ends, writes over $final.",
            job=job.id,
            checkpoint=checkpoint.name,
            out=str(out),
            final=str(out / "final"),
        )
        self.app.push_screen(
            ConfirmScreen("Resume training", question, "Resume"),
            lambda yes: self._resume(job, checkpoint) if yes else None,
        )

    def _resume(self, job: JobInfo, checkpoint: Path) -> None:
        command = list(job.status.command)
        if "--resume" not in command:
            command.append("--resume")
        started = self.ctx.jobs.start(
            command, name=job.status.name, kind="train", run=job.status.run
        )
        self._selected_id = started.id
        self.notify(f"Resuming from {checkpoint.name} as job {started.id}.", title="Resumed")
        self.poll_now()


def _is_training(job: JobInfo) -> bool:
    return TRAIN_ENTRY in job.status.command
