"""Every section is one key or one palette command away; Escape and ? behave."""

from __future__ import annotations

import pytest
from pilot_helpers import drive, screen_text, settle, wait_until
from textual.pilot import Pilot

from magitui.app import MagituiApp
from magitui.screens.help import HelpScreen
from magitui.sections import SECTIONS

SCREEN_CLASSES = {
    "home": "HomeScreen",
    "setup": "SetupScreen",
    "generate": "GenerateScreen",
    "data": "DataScreen",
    "train": "TrainScreen",
    "monitor": "MonitorScreen",
    "chat": "ChatScreen",
    "eval": "EvalScreen",
}


@pytest.mark.parametrize("section", SECTIONS, ids=lambda s: s.mode)
def test_each_section_has_its_key_and_escape_goes_home(section) -> None:  # type: ignore[no-untyped-def]
    app = MagituiApp()

    async def scenario(pilot: Pilot[None]) -> None:
        await pilot.press(section.key)
        await settle(pilot)
        assert app.current_mode == section.mode
        assert type(app.screen).__name__ == SCREEN_CLASSES[section.mode]
        assert f"magitui › {section.title}" in screen_text(app)
        await pilot.press("escape")
        await settle(pilot)
        assert app.current_mode == "home"

    drive(app, scenario)


@pytest.mark.parametrize("section", SECTIONS, ids=lambda s: s.mode)
def test_each_section_is_in_the_command_palette(section) -> None:  # type: ignore[no-untyped-def]
    app = MagituiApp()

    async def scenario(pilot: Pilot[None]) -> None:
        if section.mode == "home":  # start elsewhere so going Home is a change
            await pilot.press("m")
            await settle(pilot)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*f"go to {section.title}")
        await wait_until(
            pilot, lambda: f"Go to {section.title}" in screen_text(app), "the palette hit"
        )
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.current_mode == section.mode, section.mode)

    drive(app, scenario)


def test_palette_keeps_textual_system_commands() -> None:
    app = MagituiApp()

    async def scenario(pilot: Pilot[None]) -> None:
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"theme")
        await wait_until(pilot, lambda: "Change the current theme" in screen_text(app), "Theme")
        await pilot.press("escape")

    drive(app, scenario)


def test_sections_keep_their_state_between_visits() -> None:
    app = MagituiApp()

    async def scenario(pilot: Pilot[None]) -> None:
        await pilot.press("g")
        await settle(pilot)
        generate = app.screen
        await pilot.press("h", "g")
        await settle(pilot)
        assert app.screen is generate

    drive(app, scenario)


def test_help_opens_and_closes() -> None:
    app = MagituiApp()

    async def scenario(pilot: Pilot[None]) -> None:
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        text = screen_text(app)
        assert "New run" in text and "ctrl+t" in text
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen)
        await pilot.press("question_mark")
        await pilot.pause()
        await pilot.press("question_mark")
        await pilot.pause()
        assert app.current_mode == "home" and not isinstance(app.screen, HelpScreen)

    drive(app, scenario)


def test_section_keys_do_nothing_inside_a_dialog() -> None:
    app = MagituiApp()

    async def scenario(pilot: Pilot[None]) -> None:
        await pilot.press("n")
        await pilot.pause()
        await pilot.press("g", "q", "t")
        await pilot.pause()
        assert app.current_mode == "home"
        assert app.is_running
        assert app.screen.query_one("#name-input").value == "gqt"
        await pilot.press("escape")
        await pilot.pause()
        assert type(app.screen).__name__ == "HomeScreen"

    drive(app, scenario)


def test_q_quits() -> None:
    app = MagituiApp()

    async def scenario(pilot: Pilot[None]) -> None:
        await pilot.press("q")
        await pilot.pause()
        assert not app.is_running

    drive(app, scenario)


def test_footer_shows_the_keys_at_80x24() -> None:
    app = MagituiApp()

    async def scenario(pilot: Pilot[None]) -> None:
        footer = screen_text(app).splitlines()[-1]
        for label in ("New run", "Help", "Quit", "hsgdtmc"):
            assert label in footer

    drive(app, scenario)


def test_q_is_ignored_in_a_dialog_but_ctrl_q_quits(ctx) -> None:  # type: ignore[no-untyped-def]
    ctx.workspace.create_run("some-run")
    app = MagituiApp(context=ctx)

    async def scenario(pilot: Pilot[None]) -> None:
        app.screen.query_one("RunsTable").focus()
        await pilot.press("x")
        await pilot.pause()
        await pilot.press("q")
        await pilot.pause()
        assert app.is_running
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert not app.is_running

    drive(app, scenario)


def test_letters_typed_on_a_form_control_never_leave_the_form() -> None:
    """A checkbox or a choice has the focus where a field was meant to: the letters typed
    there do not switch sections or quit; Escape still goes Home."""
    from textual.widgets import Checkbox

    app = MagituiApp()

    async def scenario(pilot: Pilot[None]) -> None:
        await pilot.press("s")
        await settle(pilot)
        screen = app.screen
        screen.query_one("#setup-tabs").query_one("Tabs").focus()
        await pilot.press("5")  # the Review step
        await settle(pilot)
        box = screen.query_one("#review-default", Checkbox)
        box.focus()
        await settle(pilot)
        await pilot.press("g", "d", "q")
        await settle(pilot)
        assert app.current_mode == "setup" and app.is_running
        await pilot.press("escape")
        await settle(pilot)
        assert app.current_mode == "home"

    drive(app, scenario)
