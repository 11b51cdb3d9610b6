"""Stopping a job from any screen: ask first, then stop in a thread.

``JobManager.stop`` waits up to the grace period (seconds) for the job's
processes to end, so it never runs on the UI thread.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.content import Content
from textual.message import Message

from magitui.formatting import format_duration
from magitui.widgets.confirm import ConfirmScreen
from magitui_core.jobs.manager import JobInfo

if TYPE_CHECKING:
    from magitui.screens.base import MagituiScreen

STOP_GROUP = "stop-job"


class JobStopped(Message):
    """Posted to the screen that asked, once the job has ended (or refused to)."""

    def __init__(self, job_id: str) -> None:
        super().__init__()
        self.job_id = job_id


def request_stop(screen: MagituiScreen, job: JobInfo) -> None:
    leftovers = job.leftover_pids()
    if not job.is_live and not leftovers:
        screen.notify(
            f"Job {job.id} has already ended ({job.state.value}).", title="Nothing to stop"
        )
        return
    grace = screen.ctx.config.jobs.stop_grace_seconds
    if leftovers:
        # Crashed: its supervisor is gone but its command is not (it may hold a GPU or a lock).
        head = Content.from_markup(
            "Job [b]$id[/b] ($name) crashed, but $count of its processes still run "
            "($pids). Stop them?\n\n",
            id=job.id,
            name=job.status.name,
            count=str(len(leftovers)),
            pids=", ".join(map(str, leftovers[:6])) + ("…" if len(leftovers) > 6 else ""),
        )
    else:
        head = Content.from_markup(
            "Stop job [b]$id[/b] ($name)?\n\n", id=job.id, name=job.status.name
        )
    message = head + Content.from_markup(
        "[$text-muted]Its processes get SIGTERM, then SIGKILL after $grace if they are "
        "still running.[/]",
        grace=format_duration(grace),
    )

    def answered(confirmed: bool | None) -> None:
        if confirmed:
            _start_stop(screen, job.id, grace)

    screen.app.push_screen(ConfirmScreen("Stop job", message, yes_label="Stop"), answered)


def _start_stop(screen: MagituiScreen, job_id: str, grace: float) -> None:
    jobs = screen.ctx.jobs
    app = screen.app

    def stop() -> JobInfo:
        try:
            info = jobs.stop(job_id, grace=grace)
        finally:
            screen.post_message(JobStopped(job_id))  # refresh whatever happened
        app.notify(f"Job {info.id} is now {info.state.value}.", title="Stop job")
        return info

    app.notify(f"Stopping {job_id}…", timeout=2)
    screen.run_worker(
        stop, name=f"stop job {job_id}", group=STOP_GROUP, thread=True, exit_on_error=False
    )
