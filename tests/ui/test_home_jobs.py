"""Jobs on Home: live rows, stopping with confirmation, the detail screen."""

from __future__ import annotations

import os
import signal
import sys

import pytest
from pilot_helpers import drive, notifications, screen_text, settle, wait_until
from textual.pilot import Pilot
from textual.widgets import Log, Static

from magitui.app import MagituiApp
from magitui.screens.home.screen import HomeScreen
from magitui.screens.job_detail import JobDetailScreen
from magitui.widgets.confirm import ConfirmScreen
from magitui.widgets.job_table import JobsTable
from magitui_core.context import Context, open_context
from magitui_core.jobs.status import JobState


def _state_cell(app: MagituiApp, job_id: str) -> str:
    table = app.screen.query_one(JobsTable)
    return table.get_cell(job_id, "state").plain


def test_running_job_is_listed_and_k_stops_it(write_config, ctx: Context) -> None:  # type: ignore[no-untyped-def]
    write_config("[jobs]\nstop_grace_seconds = 3\n")
    job = ctx.jobs.start(["sleep", "30"])
    app = MagituiApp(context=ctx)

    async def scenario(pilot: Pilot[None]) -> None:
        await wait_until(pilot, lambda: job.id in screen_text(app), "the job row")
        assert _state_cell(app, job.id) == "● running"
        await pilot.press("k")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        assert job.id in screen_text(app)
        await pilot.press("y")
        await wait_until(
            pilot, lambda: ctx.jobs.get(job.id).state is JobState.STOPPED, "the job to stop"
        )
        await wait_until(pilot, lambda: _state_cell(app, job.id) == "■ stopped", "the new state")

    drive(app, scenario)


def test_stopping_defaults_to_no(ctx: Context) -> None:
    job = ctx.jobs.start(["sleep", "30"])
    app = MagituiApp(context=ctx)

    async def scenario(pilot: Pilot[None]) -> None:
        await wait_until(pilot, lambda: job.id in screen_text(app), "the job row")
        await pilot.press("k")
        await pilot.pause()
        await pilot.press("enter")
        await settle(pilot)
        assert ctx.jobs.get(job.id).state is JobState.RUNNING

    drive(app, scenario)


def test_k_stops_what_a_crashed_job_left_running(ctx: Context) -> None:
    """Its supervisor was killed; its command still runs: k says so and stops it."""
    job = ctx.jobs.start(["sleep", "300"])
    assert job.status.pid is not None
    os.kill(job.status.pid, signal.SIGKILL)
    app = MagituiApp(context=ctx)

    async def scenario(pilot: Pilot[None]) -> None:
        await wait_until(pilot, lambda: job.id in screen_text(app), "the job row")
        await wait_until(pilot, lambda: ctx.jobs.get(job.id).state is JobState.CRASHED, "the crash")
        await pilot.press("enter")  # the detail counts what still runs
        await wait_until(
            pilot, lambda: "crashed · 1 still running" in screen_text(app), "the live count"
        )
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("k")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        text = str(app.screen.query_one(".dialog-message", Static).render())
        assert "crashed, but 1 of its processes still run" in text
        assert str(job.status.child_pid) in text
        await pilot.press("y")
        await wait_until(
            pilot, lambda: not ctx.jobs.get(job.id).leftover_pids(), "its processes to end"
        )

    drive(app, scenario)


def test_job_detail_follows_the_output(ctx: Context) -> None:
    job = ctx.jobs.start(["sh", "-c", "echo first line; sleep 0.5; echo second line; sleep 30"])
    app = MagituiApp(context=ctx)

    async def scenario(pilot: Pilot[None]) -> None:
        await wait_until(pilot, lambda: job.id in screen_text(app), "the job row")
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, JobDetailScreen)
        log = app.screen.query_one("#job-log", Log)
        await wait_until(pilot, lambda: "second line" in log.lines, "the second line")
        assert log.lines[:2] == ["first line", "second line"]
        text = screen_text(app)
        assert "● running" in text and job.id in text
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, HomeScreen)

    drive(app, scenario)


def test_section_key_leaves_a_detail_screen_and_sections_remember_it(ctx: Context) -> None:
    job = ctx.jobs.start(["true"])
    app = MagituiApp(context=ctx)

    async def scenario(pilot: Pilot[None]) -> None:
        await wait_until(pilot, lambda: job.id in screen_text(app), "the job row")
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("d")
        await settle(pilot)
        await pilot.press("h")  # back to Home as it was left: the detail
        await settle(pilot)
        assert isinstance(app.screen, JobDetailScreen)
        await pilot.press("h")  # Home's key again: Home itself
        await settle(pilot)
        assert isinstance(app.screen, HomeScreen)

    drive(app, scenario)


def test_stop_from_the_detail_screen(ctx: Context) -> None:
    job = ctx.jobs.start(["sleep", "30"])
    app = MagituiApp(context=ctx)

    async def scenario(pilot: Pilot[None]) -> None:
        await wait_until(pilot, lambda: job.id in screen_text(app), "the job row")
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("k")
        await pilot.pause()
        await pilot.press("y")
        await wait_until(
            pilot, lambda: ctx.jobs.get(job.id).state is JobState.STOPPED, "the job to stop"
        )
        await wait_until(pilot, lambda: "■ stopped" in screen_text(app), "the detail to update")

    drive(app, scenario)


def test_failed_job_shows_exit_code_and_last_lines(ctx: Context) -> None:
    job = ctx.jobs.start(["sh", "-c", "echo loading; echo 'boom: out of memory' >&2; exit 3"])
    app = MagituiApp(context=ctx)

    async def scenario(pilot: Pilot[None]) -> None:
        await wait_until(pilot, lambda: ctx.jobs.get(job.id).state.is_final, "the job to end")
        await settle(pilot)
        await wait_until(pilot, lambda: "✗ failed" in screen_text(app), "the failed row")
        await pilot.press("enter")
        await settle(pilot)
        log = app.screen.query_one("#job-log", Log)
        await wait_until(pilot, lambda: "boom: out of memory" in log.lines, "the error line")
        text = screen_text(app)
        assert "✗ failed" in text
        assert "Exit      3" in text

    drive(app, scenario)


def test_empty_workspace_says_what_to_do() -> None:
    app = MagituiApp()

    async def scenario(pilot: Pilot[None]) -> None:
        text = screen_text(app)
        assert "No runs yet — press n to create one" in text
        assert "magitui jobs start -- CMD" in text

    drive(app, scenario)


def test_a_failing_refresh_is_reported_once(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> list[object]:
        raise OSError("disk on fire")

    ctx = open_context()  # not the ctx fixture: its teardown lists jobs
    monkeypatch.setattr(ctx.jobs, "list_jobs", broken)
    app = MagituiApp(context=ctx)

    async def scenario(pilot: Pilot[None]) -> None:
        await wait_until(pilot, lambda: notifications(app), "a notification")
        await pilot.pause(2.5)  # two more failing polls
        errors = [n for n in notifications(app) if n[0] == "error"]
        assert errors == [("error", "Could not refresh runs and jobs", "disk on fire")]
        assert app.is_running

    drive(app, scenario)


def test_a_long_error_is_shown_whole_in_the_detail(ctx: Context) -> None:
    """The reason a job ended is never cut at 80 columns: the detail wraps it."""
    words = [f"word{i:02d}" for i in range(40)]  # ~280 characters
    code = (
        "import json, os\n"
        "path = os.path.join(os.environ['MAGITUI_JOB_DIR'], 'events.jsonl')\n"
        f"line = json.dumps({{'type': 'error', 'message': {' '.join(words)!r}}})\n"
        "open(path, 'a').write(line + '\\n')\n"
        "raise SystemExit(1)\n"
    )
    job = ctx.jobs.start([sys.executable, "-c", code])
    app = MagituiApp(context=ctx)

    async def scenario(pilot: Pilot[None]) -> None:
        await wait_until(pilot, lambda: ctx.jobs.get(job.id).state.is_final, "the job to end")
        await wait_until(pilot, lambda: job.id in screen_text(app), "the job row")
        await pilot.press("enter")
        await settle(pilot)
        await wait_until(pilot, lambda: "word00" in screen_text(app), "the error")
        text = " ".join(screen_text(app).split())
        assert all(word in text for word in words), text

    drive(app, scenario)


def test_at_60x20_a_long_job_id_and_its_state_show_whole(ctx: Context) -> None:
    job = ctx.jobs.start(["sleep", "30"], name="eval-first-tuned-humaneval")
    app = MagituiApp(context=ctx)

    async def scenario(pilot: Pilot[None]) -> None:
        await wait_until(pilot, lambda: job.id in screen_text(app), "the job row")
        row = next(line for line in screen_text(app).splitlines() if job.id in line)
        assert "● running" in row

    drive(app, scenario, size=(60, 20))
