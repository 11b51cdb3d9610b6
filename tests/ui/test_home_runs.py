"""Creating, renaming and deleting runs through Home's dialogs, checked on disk."""

from __future__ import annotations

from pilot_helpers import drive, notifications, screen_text, settle, wait_until
from textual.pilot import Pilot

from magitui.app import MagituiApp
from magitui.widgets.confirm import ConfirmScreen
from magitui.widgets.name_prompt import NamePromptScreen
from magitui.widgets.run_table import RunsTable
from magitui_core.context import Context


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
