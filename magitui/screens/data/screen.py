"""Data: open a run's generated or formatted file, see what curation keeps, and run it.

Loading and checking run in thread workers (100 000 rows take seconds); the table draws
only the rows on screen, so scrolling and filtering stay quick however big the file.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, cast

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.content import Content
from textual.timer import Timer
from textual.widgets import Input, Select, Static
from textual.worker import Worker, WorkerState

from magitui.formatting import counted
from magitui.screens.base import MagituiScreen
from magitui.screens.data.curate_form import CurateChoice
from magitui.screens.data.record_table import RecordTable, header_text
from magitui.screens.data.record_view import RecordScreen
from magitui.screens.data.stats import DataStatsScreen
from magitui.widgets.confirm import ConfirmScreen
from magitui_core.curation.data_rows import (
    KEPT,
    REJECTED,
    REJECTED_SUFFIX,
    REMOVED,
    DataFile,
    check,
    data_files,
    filter_rows,
    load_data_file,
    run_of,
)
from magitui_core.generation.jobs import writing_job
from magitui_core.jobs.events import EventReader
from magitui_core.jobs.manager import JobError, JobInfo
from magitui_core.training.recipe import MAGICODER
from magitui_core.training.token_counts import RunTraining

STATUS_CHOICES = [("All rows", ""), ("Kept", KEPT), ("Removed", REMOVED), ("Rejected", REJECTED)]
FILTER_DELAY = 0.3  # seconds of quiet typing before the search runs
JOB_POLL_SECONDS = 0.5
ESTIMATED = "estimated: characters / 3.5"
LOAD_GROUP, FILTER_GROUP, FILES_GROUP, JOB_GROUP = (
    "data-load",
    "data-filter",
    "data-files",
    "data-job",
)


def count_with_base_tokenizer(
    data: DataFile, jobs: Any, runs_dir: Path, progress: Any
) -> tuple[RunTraining, str]:
    """The run's training settings, and the rows' tokens recounted with its base model's
    tokenizer where that is on disk; returns how the tokens were counted."""
    from magitui_core.prompts import training_text
    from magitui_core.training.token_counts import count_tokens, run_training, tokenizer_file

    training = run_training(jobs, run_of(data.path, runs_dir))
    tokenizer = tokenizer_file(training.base_model) if training.base_model else None
    if tokenizer is None:
        return training, ESTIMATED
    rows = [row for row in data.rows if row.record is not None]
    texts = [training_text(row.record.instruction, row.record.response) for row in rows]  # type: ignore[union-attr]
    try:
        counts = count_tokens(
            tokenizer, texts, lambda done, total: progress("counting tokens", done, total)
        )
    except (ImportError, OSError, ValueError, RuntimeError):
        return training, ESTIMATED  # a tokenizer file this library cannot read: estimate
    for row, count in zip(rows, counts, strict=True):
        row.tokens = count
    name = Path(training.base_model or "").name or training.base_model
    return training, f"{name}'s tokenizer"


def newest_main(files: list[Path]) -> Path:
    """The newest file, skipping generator rejects, which are listed with their accepted
    file (the newest of ``files``, which come newest first)."""
    main = [path for path in files if not path.name.endswith(REJECTED_SUFFIX)]
    return (main or files)[0]


class DataScreen(MagituiScreen):
    CSS_PATH = "screen.tcss"
    TITLE_TEXT = "Data"
    # The file list may spread over the filters: at 80 columns labels would wrap.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (72, "-wide")]
    DEFAULT_CSS = """
    #data-file > SelectOverlay {
        width: auto;
        min-width: 100%;
        max-width: 76;
    }
    """
    AUTO_FOCUS = "#data-table"
    BINDINGS = [
        Binding("o", "focus_file", "File"),
        Binding("f", "focus_status", "Filter"),
        Binding("slash", "focus_search", "Search"),
        Binding("a", "stats", "Stats"),
        Binding("p", "curate", "Curate"),
        Binding("r", "reload", "Reload", show=False),
    ]

    def __init__(self) -> None:
        super().__init__(classes="data-screen")
        self.data: DataFile | None = None
        self.order: list[int] = []
        self.progress_text = ""
        self.job_text = ""
        # Until a file's run says otherwise: the recipe's max_len, tokens estimated.
        self._training = RunTraining(None, MAGICODER.max_len, "the recipe's")
        self._counted_by = ESTIMATED
        self._filter_timer: Timer | None = None
        self._job_id: str | None = None
        self._job_events: EventReader | None = None
        self._job_timer: Timer | None = None
        self._files: list[Path] = []
        self._open_newest = False
        self._wanted_run: str | None = None  # set by show_run, used by the next file listing
        self._filter_sequence = 0
        self._load_sequence = 0

    # ---- layout ----------------------------------------------------------------------------
    def compose_body(self) -> ComposeResult:
        with Horizontal(id="data-controls"):
            yield Select[str]([], prompt="Open a data file (o)", id="data-file")
            yield Select[str](STATUS_CHOICES, value="", allow_blank=False, id="data-status")
            yield Input(placeholder="search text (/)", id="data-search")
        yield Static(id="data-summary")
        yield Static(id="data-header")
        yield RecordTable(id="data-table")

    def on_mount(self) -> None:
        self._show_summary()  # the file list loads on resume, which follows mounting
        self.run_worker(self._running_curation, group=JOB_GROUP, thread=True, exit_on_error=False)

    def _running_curation(self) -> tuple[JobInfo, list[dict[str, Any]]] | None:
        """A curation job still running from an earlier visit (or another terminal)."""
        live = [
            job
            for job in self.ctx.jobs.list_jobs()
            if job.status.kind == "preprocess" and job.is_live
        ]
        if not live or self._job_id is not None:
            return None
        self._job_id = live[0].id
        self._job_events = EventReader(live[0].events_path)
        return live[0], self._job_events.read_new()

    def on_resize(self) -> None:
        self.query_one("#data-header", Static).update(
            header_text(
                self.query_one(RecordTable).scrollable_content_region.width or self.size.width
            )
        )

    @property
    def limit(self) -> int:
        return self._training.max_len

    # ---- files -----------------------------------------------------------------------------
    def refresh_files(self, open_newest: bool = False) -> None:
        root = self.ctx.workspace.root

        def collect() -> list[Path]:
            return data_files(root)

        self._open_newest = self._open_newest or open_newest
        self.run_worker(collect, group=FILES_GROUP, thread=True, exit_on_error=False)

    def _files_listed(self, files: list[Path], open_newest: bool) -> None:
        runs_dir = self.ctx.workspace.runs_dir
        data_dir = self.ctx.workspace.root / "data"
        if self.data is not None and self.data.path not in files:
            files = [self.data.path, *files]  # a file opened by path stays choosable
        self._files = files
        select = self.query_one("#data-file", Select)
        options = []
        for path in files:
            try:
                relative = path.relative_to(runs_dir)
                label = f"{relative.parts[0]} · {'/'.join(relative.parts[2:])}"
            except ValueError:
                try:
                    label = f"workspace · {path.relative_to(data_dir)}"
                except ValueError:
                    label = str(path)
            options.append((label, str(path)))
        with self.prevent(Select.Changed):
            select.set_options(options)
            if self.data is not None:
                select.value = str(self.data.path)
        wanted, self._wanted_run = self._wanted_run, None
        if wanted is not None:
            self._open_run(wanted, files)
        elif open_newest and self.data is None and files:
            self.open_path(newest_main(files))
        self._show_summary()

    def show_run(self, run: str) -> None:
        """Open ``run``'s newest data file the next time this screen is shown (the app's
        open_section shows it; Enter on a run on Home comes here)."""
        self._wanted_run = run

    def _open_run(self, run: str, files: list[Path]) -> None:
        runs_dir = self.ctx.workspace.runs_dir
        mine = [path for path in files if run_of(path, runs_dir) == run]
        if not mine:
            self.notify(
                f"Run {run!r} has no data files in {runs_dir / run / 'data'} yet — generate "
                "some on Generate (g) with Run set to it",
                severity="warning",
            )
        elif self.data is None or self.data.path not in mine:  # already open: keep its filters
            self.open_path(newest_main(mine))

    def open_path(self, path: Path) -> None:
        """Load ``path`` (and its generator rejects), then check it as curation would."""
        self.data = None
        self.order = []
        self.query_one(RecordTable).show([], [])
        self.progress_text = f"reading {path.name}…"
        self._show_summary()
        # A thread cannot be cancelled: a load overtaken by a newer one is ignored instead.
        self._load_sequence += 1
        sequence = self._load_sequence

        def progress(stage: str, done: int, total: int) -> None:
            text = f"{stage} {done:,}/{total:,}" if total else stage
            self.app.call_from_thread(self._set_progress, text, sequence)

        jobs, runs_dir = self.ctx.jobs, self.ctx.workspace.runs_dir

        def load() -> DataFile:
            data = load_data_file(path, progress)
            self.app.call_from_thread(self._loaded, data, sequence)
            if sequence == self._load_sequence:
                check(data, progress=progress)
            if sequence == self._load_sequence:
                training, counted_by = count_with_base_tokenizer(data, jobs, runs_dir, progress)
                self.app.call_from_thread(self._tokens_counted, training, counted_by, sequence)
            return data

        self.run_worker(load, group=LOAD_GROUP, thread=True, exclusive=True, exit_on_error=False)

    def _tokens_counted(self, training: RunTraining, counted_by: str, sequence: int) -> None:
        if sequence == self._load_sequence:
            self._training, self._counted_by = training, counted_by

    def _set_progress(self, text: str, sequence: int) -> None:
        if sequence == self._load_sequence:
            self.progress_text = text
            self._show_summary()

    def _loaded(self, data: DataFile, sequence: int) -> None:
        if sequence != self._load_sequence:
            return
        self.data = data
        self.progress_text = "checking duplicates and contamination…"
        if data.path not in self._files:
            self._files_listed(self._files, open_newest=False)  # adds it to the choices
        else:
            with self.prevent(Select.Changed):
                self.query_one("#data-file", Select).value = str(data.path)
        self.apply_filter()

    def _checked(self, data: DataFile) -> None:
        if data is not self.data or not data.checked:
            return
        self.progress_text = ""
        status = self.query_one("#data-status", Select)
        value = status.value
        choices = STATUS_CHOICES + [(f"  {reason}", reason) for reason in data.reasons()]
        with self.prevent(Select.Changed):
            status.set_options(choices)
            status.value = value if value in [v for _, v in choices] else ""
        self.apply_filter()

    def worker_failed(self, worker: Worker[Any]) -> None:
        # Called by the base screen's handler, the one path for worker errors.
        if worker.group == LOAD_GROUP:
            self.progress_text = f"cannot open: {worker.error}"
            self._show_summary()
            self.notify(str(worker.error), title="Cannot open file", severity="error")
            return
        super().worker_failed(worker)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # Errors reach worker_failed through MagituiScreen's handler (Textual calls both).
        worker = event.worker
        if event.state is not WorkerState.SUCCESS:
            return
        result = worker.result
        if worker.group == FILES_GROUP:
            self._files_listed(cast("list[Path]", result), self._open_newest)
            self._open_newest = False
        elif worker.group == LOAD_GROUP:
            self._checked(cast(DataFile, result))
        elif worker.group == FILTER_GROUP:
            data, order, sequence = cast("tuple[DataFile, list[int], int]", result)
            # A slower, older filter must not overwrite a newer one's rows.
            if data is self.data and sequence == self._filter_sequence:
                self.order = order
                self.query_one(RecordTable).show(data.rows, order, self.limit)
                self._show_summary()
        elif worker.group == JOB_GROUP and result is not None:
            self._job_update(cast("tuple[JobInfo, list[dict[str, Any]]]", result))

    @on(Select.Changed, "#data-file")
    def _file_chosen(self, event: Select.Changed) -> None:
        if isinstance(event.value, str) and (
            self.data is None or str(self.data.path) != event.value
        ):
            self.open_path(Path(event.value))
            # Back to the rows, so Enter opens a record instead of the file list again.
            self.query_one(RecordTable).focus()

    # ---- filtering -------------------------------------------------------------------------
    @on(Select.Changed, "#data-status")
    def _status_chosen(self) -> None:
        self.apply_filter()

    @on(Input.Changed, "#data-search")
    def _search_typed(self) -> None:
        if self._filter_timer is not None:
            self._filter_timer.stop()
        self._filter_timer = self.set_timer(FILTER_DELAY, self.apply_filter)

    @on(Input.Submitted, "#data-search")
    def _search_submitted(self) -> None:
        self.apply_filter()
        self.query_one(RecordTable).focus()

    def apply_filter(self) -> None:
        data = self.data
        if data is None:
            return
        value = self.query_one("#data-status", Select).value
        status = value if isinstance(value, str) else ""
        text = self.query_one("#data-search", Input).value.strip()
        self._filter_sequence += 1
        sequence = self._filter_sequence

        def run() -> tuple[DataFile, list[int], int]:
            return data, filter_rows(data.rows, status, text), sequence

        self.run_worker(run, group=FILTER_GROUP, thread=True, exclusive=True, exit_on_error=False)

    # ---- summary ---------------------------------------------------------------------------
    def _show_summary(self) -> None:
        data = self.data
        parts: list[str] = []
        if data is None:
            if not self.progress_text:
                parts.append(
                    "No data file yet: files in runs/*/data/ and the workspace's data/ "
                    "are listed under Open (o) — generate some on Generate (g)."
                    if not self._files
                    else "Choose a file to open (o)."
                )
        else:
            counts = data.status_counts()
            parts.append(counted(len(data.rows), "row"))
            for status in (KEPT, REMOVED, REJECTED):
                if counts.get(status):
                    parts.append(f"{status} {counts[status]:,}")
            if data.bad_lines:
                parts.append(f"bad lines {len(data.bad_lines):,}")
            over = sum(1 for row in data.rows if row.tokens > self.limit)
            parts.append(f"over {self.limit} tok ({self._training.max_len_source}) {over:,}")
            parts.append(f"shown {len(self.order):,}")
        for extra in (self.progress_text, self.job_text):
            if extra:
                parts.append(extra)
        self.query_one("#data-summary", Static).update(Content(" · ".join(parts)))

    # ---- actions ---------------------------------------------------------------------------
    def on_screen_resume(self) -> None:
        # A file generated or curated while this screen was hidden is choosable on return.
        # A run asked for by show_run is opened instead of the newest file.
        self.refresh_files(open_newest=self.data is None and self._wanted_run is None)

    def action_focus_file(self) -> None:
        if not self._files:
            self.notify(
                f"No data files in {self.ctx.workspace.runs_dir}/*/data/ or "
                f"{self.ctx.workspace.root / 'data'} — generate some on Generate (g).",
                severity="warning",
            )
        select = self.query_one("#data-file", Select)
        select.focus()
        if self._files:
            select.expanded = True  # o means open: show the list at once

    def action_focus_status(self) -> None:
        self.query_one("#data-status", Select).focus()

    def action_focus_search(self) -> None:
        self.query_one("#data-search", Input).focus()

    def action_reload(self) -> None:
        if self.data is not None:
            self.open_path(self.data.path)
        self.refresh_files()

    def action_stats(self) -> None:
        if self.data is None:
            self.notify("Open a data file first (o).", severity="warning")
            return
        rows = [self.data.rows[i] for i in self.order]
        title = f"{self.data.path.name} · {counted(len(rows), 'row')} shown"
        self.app.push_screen(
            DataStatsScreen(
                title, rows, self.limit, len(self.data.bad_lines), counted_by=self._counted_by
            )
        )

    @on(RecordTable.Selected)
    def _open_record(self, event: RecordTable.Selected) -> None:
        if self.data is None:
            return
        table = self.query_one(RecordTable)
        self.app.push_screen(RecordScreen(self.data.rows, self.order, table.cursor))

    # ---- curation job ----------------------------------------------------------------------
    def curation_paths(self, path: Path) -> tuple[Path, Path]:
        out = path.parent / ("train.jsonl" if path.name != "train.jsonl" else "train-curated.jsonl")
        return out, out.parent / "curation-report.json"

    def action_curate(self) -> None:
        if self.data is None:
            self.notify("Open a generated file first (o).", severity="warning")
            return
        if self._job_id is not None:
            # Two jobs writing one output would race; the second waits for the first.
            self.notify(f"Curation job {self._job_id} is still running.", severity="warning")
            return
        path = self.data.path
        if path.name.endswith(REJECTED_SUFFIX):
            accepted = path.name[: -len(REJECTED_SUFFIX)] + ".jsonl"
            self.notify(
                f"{path.name} holds the teacher's rejected answers, which are never trained on "
                f"— open {accepted} (o) and curate that",
                title="Nothing to curate",
                severity="warning",
            )
            return
        writer = writing_job(self.ctx.jobs, path)
        if writer is not None:  # curating half a file would train on half the data
            self.notify(
                f"generation job {writer.id} is still writing {path.name} — curate it when "
                "the job ends (or stop the job first)",
                title="Not yet",
                severity="warning",
            )
            return
        out, _ = self.curation_paths(path)
        from magitui.screens.data.curate_form import CurateScreen

        self.app.push_screen(CurateScreen(path, out), lambda choice: self._curate(path, choice))

    def _curate(self, path: Path, choice: CurateChoice | None) -> None:
        """After the form: ask before replacing an existing output, then start."""
        if choice is None:
            return
        out, report = choice.out, choice.out.parent / f"{choice.out.stem}-report.json"
        if out.name == "train.jsonl":
            report = out.parent / "curation-report.json"  # the name curation always used
        if out.exists():
            question = Content.from_markup(
                "[b]$out[/] exists. Curate [b]$source[/] into it, replacing what it holds? "
                "(It is replaced only when the new file is complete.)",
                out=out.name,
                source=path.name,
            )
            self.app.push_screen(
                ConfirmScreen("Replace training data", question, "Replace"),
                lambda yes: self._start_curation(path, out, report, choice.args) if yes else None,
            )
            return
        self._start_curation(path, out, report, choice.args)

    def _start_curation(
        self, path: Path, out: Path, report: Path, options: list[str] | None = None
    ) -> None:
        run = run_of(path, self.ctx.workspace.runs_dir)
        command = [sys.executable, "-m", "magitui_core.curation.preprocess", str(path)]
        command += ["--out", str(out), "--report", str(report), *(options or [])]
        try:
            job = self.ctx.jobs.start(
                command, name=f"curate {path.name}", kind="preprocess", run=run
            )
        except JobError as exc:
            self.notify(str(exc), title="Cannot start curation", severity="error")
            return
        self._job_id = job.id
        self._job_events = EventReader(job.events_path)
        self.job_text = f"curation job {job.id} started"
        self._show_summary()
        self.notify(f"Curating {path.name} → {out.name} (job {job.id})", title="Curation started")
        self._poll_job()

    def _poll_job(self) -> None:
        job_id, reader = self._job_id, self._job_events
        if job_id is None or reader is None:
            return

        def collect() -> tuple[JobInfo, list[dict[str, Any]]]:
            return self.ctx.jobs.get(job_id), reader.read_new()

        self.run_worker(collect, group=JOB_GROUP, thread=True, exclusive=True, exit_on_error=False)

    def _job_update(self, result: tuple[JobInfo, list[dict[str, Any]]]) -> None:
        job, events = result
        for event in events:
            if event["type"] == "progress":
                done, total = event.get("done", 0), event.get("total", 0)
                self.job_text = f"curating: {event.get('message')} {done:,}/{total:,}"
            elif event["type"] == "done":
                self.job_text = (
                    f"curated: {event.get('message')} → {Path(str(event.get('output'))).name}"
                )
                self.notify(str(event.get("message")), title="Curation finished")
                self.refresh_files()
            elif event["type"] == "error":
                self.job_text = f"curation failed: {event.get('message')}"
                self.notify(str(event.get("message")), title="Curation failed", severity="error")
        self._show_summary()
        if job.is_live:
            self._job_timer = self.set_timer(JOB_POLL_SECONDS, self._poll_job)
        else:
            self._job_id = None
            if job.state.value not in ("succeeded",) and "failed" not in self.job_text:
                self.job_text = f"curation job {job.id} {job.state.value}"
                self._show_summary()

    def on_unmount(self) -> None:
        # Leaving the screen only stops watching: the job itself runs on.
        if self._job_timer is not None:
            self._job_timer.stop()
