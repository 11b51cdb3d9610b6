"""Screens that list jobs share how a job is opened, stopped and recoloured."""

from __future__ import annotations

from textual.widgets import DataTable

from magitui.job_actions import JobStopped, request_stop
from magitui.screens.base import PollingScreen
from magitui.widgets.job_table import JobsTable, job_rows
from magitui_core.jobs.manager import JobInfo


class JobListScreen(PollingScreen):
    """A polling screen with one JobsTable. Subclasses call ``show_jobs`` from ``apply``."""

    def __init__(
        self, name: str | None = None, id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._jobs: dict[str, JobInfo] = {}
        self._jobs_taken_at = 0.0

    def on_mount(self) -> None:
        # State colours come from the theme, so a theme change redraws the rows.
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self.redraw(force=True))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # None shows the key dimmed: the action exists but has nothing to act on yet.
        if action == "open_job":
            return self.selected_job() is not None or None
        if action == "stop_job":
            job = self.selected_job()
            return (job is not None and (job.is_live or job.orphaned)) or None
        return True

    def binding_state(self) -> tuple[object, ...]:
        job = self.selected_job()
        return (job is not None, job is not None and (job.is_live or job.orphaned))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.sync_bindings()

    def show_jobs(self, jobs: list[JobInfo], taken_at: float, force: bool = False) -> None:
        self._jobs = {job.id: job for job in jobs}
        self._jobs_taken_at = taken_at
        self.query_one(JobsTable).apply_rows(
            job_rows(jobs, taken_at, self.app.theme_variables), force=force
        )
        self.sync_bindings()

    def redraw(self, force: bool = False) -> None:
        """Render the last snapshot again (after a theme change)."""
        self.show_jobs(list(self._jobs.values()), self._jobs_taken_at, force=force)

    def selected_job(self) -> JobInfo | None:
        key = self.query_one(JobsTable).selected_key
        return self._jobs.get(key) if key else None

    def action_open_job(self) -> None:
        job = self.selected_job()
        if job is None:
            return
        from magitui.screens.job_detail import JobDetailScreen

        self.app.push_screen(JobDetailScreen(job.id))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        # A click on the highlighted row opens the job, as Enter does.
        if isinstance(event.data_table, JobsTable):
            event.stop()
            self.action_open_job()

    def action_stop_job(self) -> None:
        job = self.selected_job()
        if job is None:
            self.notify("No job selected.", severity="warning")
            return
        request_stop(self, job)

    def on_job_stopped(self, message: JobStopped) -> None:
        self.poll_now()
