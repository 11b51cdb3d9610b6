"""The help lists every key of the screen it was opened from, footer or not, and fits 80x24
(or scrolls, for a screen with more keys than that)."""

from __future__ import annotations

from pilot_helpers import drive, screen_text, settle
from textual.binding import Binding
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Static

from magitui.app import MagituiApp
from magitui.screens.help import HelpScreen


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
        assert "ctrl+t" in text and "q                quit" in text  # all of it fits 80x24

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
