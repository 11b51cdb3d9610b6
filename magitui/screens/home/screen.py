"""Home: the workspace's runs and jobs, kept current, with the actions on them."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import partial

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container, Vertical
from textual.content import Content
from textual.widgets import DataTable, Static
from textual.worker import Worker, WorkerState

from magitui.screens.base import FINISHED
from magitui.screens.home.run_table import RunsTable, run_rows
from magitui.screens.job_list import JobListScreen
from magitui.widgets.border_text import set_border_title
from magitui.widgets.confirm import ConfirmScreen
from magitui.widgets.job_table import JobsTable
from magitui.widgets.name_prompt import NamePromptScreen
from magitui.widgets.text_modal import TextModal
from magitui.widgets.warning_banner import WarningBanner
from magitui_core.jobs.manager import JobInfo
from magitui_core.workspace import RunInfo, WorkspaceError, validate_run_name

RUNS_EMPTY = (
    "No runs yet — press [b]n[/b] to create one. "
    "A run keeps one recipe's data, jobs and checkpoints together."
)
JOBS_EMPTY = (
    "No jobs yet — generate data on Generate ([b]g[/b]), curate it on Data ([b]d[/b]), "
    "train on Train ([b]t[/b]); any command can run as a job too: "
    "[b]magitui jobs start -- CMD[/b]."
)
RUN_OPS = "run-ops"


@dataclass(frozen=True)
class HomeSnapshot:
    runs: list[RunInfo]
    jobs: list[JobInfo]
    taken_at: float
    scores: dict[str, str] = field(default_factory=dict)  # run → its newest eval score


class HomeScreen(JobListScreen):
    TITLE_TEXT = "Home"
    POLL_WHAT = "runs and jobs"
    AUTO_FOCUS = "#jobs-table"
    BINDINGS = [
        Binding("n", "new_run", "New run"),
        Binding("w", "show_warnings", "Warnings"),
    ]

    def __init__(self) -> None:
        super().__init__(id="home")
        self._runs: list[RunInfo] = []
        self._scores: dict[str, str] = {}

    def compose_body(self) -> ComposeResult:
        yield WarningBanner(self.magitui.startup_warnings, id="warnings")
        with Container(id="home-panels"):
            # Titled here, not on mount: the first frame shows the panels whole.
            with Vertical(id="runs-panel", classes="panel") as runs:
                runs.border_title = "Runs"
                yield RunsTable(id="runs-table")
                yield Static(Content.from_markup(RUNS_EMPTY), classes="empty-state")
            with Vertical(id="jobs-panel", classes="panel") as jobs:
                jobs.border_title = "Jobs"
                yield JobsTable(id="jobs-table")
                yield Static(Content.from_markup(JOBS_EMPTY), classes="empty-state")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "show_warnings":
            return bool(self.magitui.startup_warnings)
        if action in ("open_run", "rename_run", "delete_run"):
            return self.query_one(RunsTable).selected_key is not None or None
        return super().check_action(action, parameters)

    def binding_state(self) -> tuple[object, ...]:
        return (*super().binding_state(), self.query_one(RunsTable).selected_key is not None)

    # ---- polling ---------------------------------------------------------------------------
    def collect(self) -> HomeSnapshot:
        from magitui_core.eval.results import latest_score

        runs = self.ctx.workspace.list_runs()
        return HomeSnapshot(
            runs=runs,
            jobs=self.ctx.jobs.list_jobs(),
            taken_at=time.time(),
            scores={run.name: score for run in runs if (score := latest_score(run.path))},
        )

    def apply(self, snapshot: HomeSnapshot) -> None:
        self._runs = snapshot.runs
        self._scores = snapshot.scores
        self.query_one(RunsTable).apply_rows(run_rows(snapshot.runs, snapshot.scores))
        self.show_jobs(snapshot.jobs, snapshot.taken_at)
        self._update_panels()

    def redraw(self, force: bool = False) -> None:
        self.query_one(RunsTable).apply_rows(run_rows(self._runs, self._scores), force=force)
        super().redraw(force=force)

    def _update_panels(self) -> None:
        live = sum(1 for job in self._jobs.values() if job.is_live)
        runs_panel = self.query_one("#runs-panel")
        jobs_panel = self.query_one("#jobs-panel")
        set_border_title(runs_panel, f"Runs · {len(self._runs)}")
        jobs_title = f"Jobs · {len(self._jobs)}" + (f" · {live} live" if live else "")
        set_border_title(jobs_panel, jobs_title)
        runs_panel.set_class(not self._runs, "-empty")
        jobs_panel.set_class(not self._jobs, "-empty")
        self.sync_bindings()  # Rename/Delete/Stop are dimmed without a row to act on

    # ---- run actions -----------------------------------------------------------------------
    def action_open_run(self) -> None:
        """Enter on a run: Data, showing that run's newest data file."""
        name = self.query_one(RunsTable).selected_key
        if name is None:
            return
        from magitui.screens.data.screen import DataScreen  # loaded on first use, as sections are

        screen = self.magitui.open_section("data")
        if isinstance(screen, DataScreen):
            screen.show_run(name)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        # A click on the highlighted run opens it, as Enter does. (JobListScreen's handler
        # runs too, as Textual calls each class's: it takes the jobs table's rows.)
        if isinstance(event.data_table, RunsTable):
            event.stop()
            self.action_open_run()

    def _check_new_name(self, name: str, current: str | None = None) -> str | None:
        """Why ``name`` cannot be used for a run, or None when it can."""
        try:
            validate_run_name(name)
        except WorkspaceError as exc:
            return str(exc)
        if name == current:
            return "that is already its name — type a new one"
        if self.ctx.workspace.run_path(name).exists():
            return f"a run named {name!r} already exists — choose another name"
        return None

    def action_new_run(self) -> None:
        prompt = NamePromptScreen(
            "New run",
            "Name the run (letters, digits, '.', '_' or '-'):",
            check=self._check_new_name,
        )
        self.app.push_screen(prompt, self._create_run)

    def _create_run(self, name: str | None) -> None:
        if not name:
            return
        try:
            # A mkdir and a small file: quick enough for the UI thread, and the
            # cursor can then land on the new row with the very next refresh.
            self.ctx.workspace.create_run(name, snapshot=self.ctx.config.to_dict())
        except WorkspaceError as exc:
            self.notify(str(exc), title="Could not create run", severity="error")
            return
        self.notify(f"Created run {name}.")
        runs = self.query_one(RunsTable)
        runs.select_key_soon(name)
        runs.focus()
        self.poll_now()

    def action_rename_run(self) -> None:
        old = self.query_one(RunsTable).selected_key
        if old is None:
            self.notify("No run selected — press n to create one.", severity="warning")
            return
        prompt = NamePromptScreen(
            f"Rename run {old}",
            "New name:",
            check=partial(self._check_new_name, current=old),
            value=old,
            submit_label="Rename",
        )
        self.app.push_screen(prompt, partial(self._rename_run, old))

    def _rename_run(self, old: str, new: str | None) -> None:
        if not new:
            return
        ctx, app = self.ctx, self.app

        def rename() -> None:
            # Asking which jobs are live looks at processes: keep it off the UI thread.
            ctx.workspace.rename_run(old, new, live_job_ids=ctx.jobs.live_in_run(old))
            app.notify(f"Renamed run {old} to {new}.")

        self.query_one(RunsTable).select_key_soon(new)
        self.run_worker(
            rename, name=f"rename run {old}", group=RUN_OPS, thread=True, exit_on_error=False
        )

    def action_delete_run(self) -> None:
        name = self.query_one(RunsTable).selected_key
        if name is None:
            self.notify("No run selected.", severity="warning")
            return
        message = Content.from_markup(
            "Delete run [b]$name[/b] and everything in it?\n\n"
            "[$text-muted]Its data, job logs and checkpoints are removed from disk. "
            "This cannot be undone.[/]",
            name=name,
        )
        self.app.push_screen(
            ConfirmScreen("Delete run", message, yes_label="Delete"),
            partial(self._delete_run, name),
        )

    def _delete_run(self, name: str, confirmed: bool | None) -> None:
        if not confirmed:
            return
        ctx, app = self.ctx, self.app

        def delete() -> None:
            # Removing checkpoints can take a while: never on the UI thread.
            ctx.workspace.delete_run(name, live_job_ids=ctx.jobs.live_in_run(name))
            app.notify(f"Deleted run {name}.")

        self.run_worker(
            delete, name=f"delete run {name}", group=RUN_OPS, thread=True, exit_on_error=False
        )

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == RUN_OPS and event.state in FINISHED:
            if event.state is not WorkerState.SUCCESS:
                self.query_one(RunsTable).forget_pending_key()  # the rename did not happen
            self.poll_now()

    # ---- warnings --------------------------------------------------------------------------
    def action_show_warnings(self) -> None:
        warnings = self.magitui.startup_warnings
        body = "\n\n".join(f"• {text}" for text in warnings)
        self.app.push_screen(TextModal(f"Warnings · {len(warnings)}", body))
