"""Creating, renaming and deleting runs through Home's dialogs, checked on disk."""

from __future__ import annotations

import os
from pathlib import Path

from pilot_helpers import drive, notifications, screen_text, settle, wait_until
from textual.pilot import Pilot

from magitui.app import MagituiApp
from magitui.screens.data.screen import DataScreen
from magitui.screens.home.run_table import RunsTable
from magitui.widgets.confirm import ConfirmScreen
from magitui.widgets.name_prompt import NamePromptScreen
from magitui_core.context import Context
from tests.curation.synthetic import synthetic_records, write_jsonl


def test_create_run(ctx: Context) -> None:
    app = MagituiApp(context=ctx)

    async def scenario(pilot: Pilot[None]) -> None:
        await pilot.press("n")
        await pilot.pause()
        assert isinstance(app.screen, NamePromptScreen)
        await pilot.press(*"llama-oss-1", "enter")
        await settle(pilot)
        assert (ctx.workspace.runs_dir / "llama-oss-1" / "run.toml").is_file()
        table = app.screen.query_one(RunsTable)
        await wait_until(pilot, lambda: table.selected_key == "llama-oss-1", "the new row")
        assert "llama-oss-1" in screen_text(app)

    drive(app, scenario)


def test_invalid_run_name_is_explained_in_the_dialog(ctx: Context) -> None:
    ctx.workspace.create_run("taken")
    app = MagituiApp(context=ctx)

    async def scenario(pilot: Pilot[None]) -> None:
        await pilot.press("n")
        await pilot.pause()
        await pilot.press(*"bad name!", "enter")
        await pilot.pause()
        assert isinstance(app.screen, NamePromptScreen)  # still open
        assert "is not allowed" in screen_text(app)
        await pilot.press("end")
        for _ in range(12):
            await pilot.press("backspace")
        await pilot.press(*"taken", "enter")
        await pilot.pause()
        assert isinstance(app.screen, NamePromptScreen)
        assert "already exists" in screen_text(app)
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, NamePromptScreen)

    drive(app, scenario)
    assert [run.name for run in ctx.workspace.list_runs()] == ["taken"]


def test_rename_run(ctx: Context) -> None:
    ctx.workspace.create_run("old-name")
    app = MagituiApp(context=ctx)

    async def scenario(pilot: Pilot[None]) -> None:
        app.screen.query_one(RunsTable).focus()
        await pilot.press("r")
        await pilot.pause()
        assert isinstance(app.screen, NamePromptScreen)
        # The old name is selected on focus, so typing replaces it.
        await pilot.press(*"new-name", "enter")
        await settle(pilot)
        await wait_until(pilot, lambda: "new-name" in screen_text(app), "the renamed row")

    drive(app, scenario)
    assert [run.name for run in ctx.workspace.list_runs()] == ["new-name"]


def test_delete_asks_first_and_defaults_to_no(ctx: Context) -> None:
    ctx.workspace.create_run("keep-me")
    app = MagituiApp(context=ctx)

    async def scenario(pilot: Pilot[None]) -> None:
        app.screen.query_one(RunsTable).focus()
        await pilot.press("x")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        assert "keep-me" in screen_text(app)
        await pilot.press("enter")  # the focused button is No
        await settle(pilot)
        assert (ctx.workspace.runs_dir / "keep-me").is_dir()
        await pilot.press("delete")
        await pilot.pause()
        await pilot.press("escape")
        await settle(pilot)
        assert (ctx.workspace.runs_dir / "keep-me").is_dir()

    drive(app, scenario)


def test_delete_run(ctx: Context) -> None:
    ctx.workspace.create_run("doomed")
    app = MagituiApp(context=ctx)

    async def scenario(pilot: Pilot[None]) -> None:
        app.screen.query_one(RunsTable).focus()
        await pilot.press("x")
        await pilot.pause()
        await pilot.press("y")
        await settle(pilot)
        await wait_until(
            pilot, lambda: not (ctx.workspace.runs_dir / "doomed").exists(), "the deletion"
        )
        await wait_until(pilot, lambda: "No runs yet" in screen_text(app), "the empty state")

    drive(app, scenario)


def test_deleting_a_run_with_a_live_job_is_refused(ctx: Context) -> None:
    ctx.workspace.create_run("busy")
    job = ctx.jobs.start(["sleep", "30"], run="busy")
    app = MagituiApp(context=ctx)

    async def scenario(pilot: Pilot[None]) -> None:
        app.screen.query_one(RunsTable).focus()
        await pilot.press("x")
        await pilot.pause()
        await pilot.press("y")
        await settle(pilot)
        await wait_until(
            pilot,
            lambda: any(sev == "error" for sev, _, _ in notifications(app)),
            "an error notification",
        )
        errors = [(t, m) for sev, t, m in notifications(app) if sev == "error"]
        assert errors[0][0] == "Could not delete run busy"
        assert job.id in errors[0][1]

    drive(app, scenario)
    assert (ctx.workspace.runs_dir / "busy").is_dir()


def test_enter_on_a_run_opens_its_data(ctx: Context) -> None:
    """Enter on a run shows that run's file on Data — not the newest file of the workspace,
    nor the generator's rejects — and Enter on another run switches to its file."""
    alpha = ctx.workspace.create_run("alpha").path / "data"
    beta = ctx.workspace.create_run("beta").path / "data"
    ctx.workspace.create_run("empty")
    alpha_file = write_jsonl(alpha / "generated.jsonl", synthetic_records(5, seed=1))
    write_jsonl(alpha / "generated.rejected.jsonl", [{"index": 9, "reason": "unparseable"}])
    beta_file = write_jsonl(beta / "generated.jsonl", synthetic_records(7, seed=2))
    os.utime(alpha_file, (1.0, 1.0))  # beta's file is the newest in the workspace
    app = MagituiApp(context=ctx)

    async def enter_on(pilot: Pilot[None], run: str) -> None:
        await pilot.press("h")
        await settle(pilot)
        table = app.screen.query_one(RunsTable)
        table.focus()
        table.move_cursor(row=table.get_row_index(run))
        await pilot.pause()
        await pilot.press("enter")
        await settle(pilot)

    async def opened(pilot: Pilot[None], path: Path) -> DataScreen:
        screen = app.screen
        assert isinstance(screen, DataScreen)
        await wait_until(
            pilot, lambda: screen.data is not None and screen.data.path == path, path.name
        )
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        return screen

    async def scenario(pilot: Pilot[None]) -> None:
        await settle(pilot)
        table = app.screen.query_one(RunsTable)
        await wait_until(pilot, lambda: table.row_count == 3, "the runs")
        table.focus()
        await pilot.pause()
        assert "Open in Data" in screen_text(app)  # the footer names Enter's action
        await enter_on(pilot, "alpha")
        screen = await opened(pilot, alpha_file)
        assert "alpha · generated" in screen_text(app)  # the file list, cut at 80 columns
        assert "kept 5 · rejected 1" in screen_text(app)  # its rows and its rejects
        await enter_on(pilot, "beta")
        await opened(pilot, beta_file)
        assert "beta · generated" in screen_text(app) and "kept 7" in screen_text(app)
        await enter_on(pilot, "empty")  # nothing to show: says so, keeps the open file
        await wait_until(
            pilot, lambda: any("'empty' has no data" in n[2] for n in notifications(app)), "why"
        )
        assert screen.data is not None and screen.data.path == beta_file

    drive(app, scenario, size=(80, 24))
