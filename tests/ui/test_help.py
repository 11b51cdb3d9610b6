"""The help lists every key of the screen it was opened from, footer or not, and those of
the screen's widgets that act only while they have focus, and fits 80x24 (or scrolls, for a
screen with more keys than that)."""

from __future__ import annotations

import pytest
from pilot_helpers import drive, screen_text, settle
from textual.binding import Binding
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Static

from magitui.app import MagituiApp
from magitui.screens.help import HelpScreen
from magitui.widgets.job_table import JobsTable
from magitui.widgets.log_search import MatchLog


def test_chat_help_lists_the_keys_kept_out_of_the_footer() -> None:
    async def scenario(pilot: Pilot[None]) -> None:
        await pilot.press("c")
        await settle(pilot)
        footer = screen_text(pilot.app).splitlines()[-1]
        assert "Raw prompt" not in footer  # hidden from the footer...
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(pilot.app.screen, HelpScreen)
        text = screen_text(pilot.app)
        for description in ("Raw prompt", "Prompt format", "New chat", "Save", "Load", "Model"):
            assert description in text  # ...and listed here
        assert "⏎ / i" in text  # two keys for one action share a row
        assert "Focus Next" not in text and "Copy selected text" not in text
        assert "ctrl+t" in text and "quit (jobs keep running)" in text  # all of it fits 80x24

    drive(MagituiApp(), scenario)


class ManyKeys(Screen[None]):
    BINDINGS = [
        Binding(letter, f"noop('{letter}')", f"Action {letter}", show=False)
        for letter in "abdefijklnoprsuvwxyz0123456789"
    ]

    def compose(self):  # type: ignore[no-untyped-def]
        yield Static("many keys")

    def action_noop(self, letter: str) -> None:
        pass


def test_a_help_longer_than_the_terminal_scrolls_to_its_end() -> None:
    async def scenario(pilot: Pilot[None]) -> None:
        await pilot.app.push_screen(ManyKeys())
        await settle(pilot)
        pilot.app.action_help()
        await settle(pilot)
        help_screen = pilot.app.screen
        assert isinstance(help_screen, HelpScreen)
        assert "Action a" in screen_text(pilot.app)
        assert "quit (jobs keep running)" not in screen_text(pilot.app)
        body = help_screen.query_one("#help-body")
        assert body.has_focus and body.max_scroll_y > 0
        await pilot.press("end")
        await settle(pilot)
        assert "quit (jobs keep running)" in screen_text(pilot.app)

    drive(MagituiApp(), scenario, size=(80, 16))


def help_text(pilot: Pilot[None]) -> str:
    """The screen with the help open, less the footer line below it."""
    assert isinstance(pilot.app.screen, HelpScreen)
    return screen_text(pilot.app).rsplit("\n", 1)[0]


def test_train_help_lists_the_keys_of_the_widgets_without_focus() -> None:
    async def scenario(pilot: Pilot[None]) -> None:
        await pilot.press("t")
        await settle(pilot)
        train = pilot.app.screen
        assert isinstance(train.focused, JobsTable)
        await pilot.press("question_mark")
        await settle(pilot)
        text = help_text(pilot)
        # The log's keys, under its name, though the jobs table has focus; n / N are
        # kept out of every footer, so the help is the only place they are told.
        log_part = text[text.index("Log:") :]
        assert "Previous" in log_part and "⏎ / n" in log_part and "Follow" in log_part
        assert "Jobs table:" not in text  # focused: its keys are in the screen's list
        assert "Details" in text and "Stop job" in text
        for usual in ("Page up", "Scroll Up", "Cursor up", "Focus Next"):
            assert usual not in text
        await pilot.press("escape")
        await settle(pilot)

        train.query_one(MatchLog).focus()
        await settle(pilot)
        pilot.app.action_help()
        await settle(pilot)
        text = help_text(pilot)
        jobs_part = text[text.index("Jobs table:") : text.index("Everywhere")]
        assert "Details" in jobs_part and "Stop job" in jobs_part
        assert "Log:" in text and "Previous" in text  # its hidden keys still
        assert text.count("Follow") == 1  # a footer key is not listed twice

    drive(MagituiApp(), scenario)


@pytest.mark.parametrize(
    ("section", "widget_heading"),
    [
        ("h", "Runs table:"),
        ("s", None),
        ("g", "Jobs table:"),
        ("d", None),  # its record table has focus: its keys are the screen's list
        ("t", "Log:"),
        ("m", "Cache table:"),
        ("c", "Chat input:"),
    ],
)
def test_every_section_help_fits_80x24(section: str, widget_heading: str | None) -> None:
    async def scenario(pilot: Pilot[None]) -> None:
        await pilot.press(section)
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        text = help_text(pilot)
        body = pilot.app.screen.query_one("#help-body")
        assert body.max_scroll_y == 0, text  # no scrolling needed at 80x24
        assert "quit (jobs keep running)" in text
        if widget_heading is not None:
            assert widget_heading in text
        assert "Page up" not in text and "Cursor" not in text

    drive(MagituiApp(), scenario)


def test_keys_with_nothing_to_act_on_are_listed_as_not_now() -> None:
    """An empty chat has no answer to redo, edit, copy or continue: the help still names
    those keys, marked, so a new user learns them before the first message."""

    async def scenario(pilot: Pilot[None]) -> None:
        await pilot.press("c")
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        text = screen_text(pilot.app)
        for description in ("Redo", "Edit", "Copy", "Continue"):
            assert f"{description} (not now)" in text, text

    drive(MagituiApp(), scenario, size=(120, 40))
