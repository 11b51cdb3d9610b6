"""The key reference: global keys, and the keys of the screen it was opened from."""

from __future__ import annotations

from collections.abc import Iterable

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from magitui.sections import SECTIONS

GLOBAL_KEYS: tuple[tuple[str, str], ...] = (
    *((section.key, f"{section.title} — {section.summary}") for section in SECTIONS),
    ("?", "this help"),
    ("ctrl+p", "command palette (sections, theme, quit…)"),
    ("ctrl+t", "next colour theme (saved to config.toml)"),
    ("tab / shift+tab", "move between panels"),
    ("escape", "close a dialog or detail view, else back to Home"),
    ("q", "quit (jobs keep running)"),
)


def key_table(rows: Iterable[tuple[str, str]], key_style: str) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(no_wrap=True)
    table.add_column()
    for key, description in rows:
        table.add_row(Text(key, style=key_style), Text(description))
    return table


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,question_mark,q", "close", "Close")]

    def __init__(self, screen_title: str, screen_keys: list[tuple[str, str]]) -> None:
        super().__init__(classes="dialog-screen")
        self._screen_title = screen_title
        self._screen_keys = screen_keys

    def compose(self) -> ComposeResult:
        accent = self.app.theme_variables.get("accent", "")
        key_style = f"bold {accent}".strip()
        with Vertical(classes="dialog help-dialog") as dialog:
            dialog.border_title = "Keys"
            dialog.border_subtitle = "Esc close"
            with VerticalScroll(classes="dialog-scroll"):
                if self._screen_keys:
                    yield Static(Text(self._screen_title, style="bold"), classes="help-heading")
                    yield Static(key_table(self._screen_keys, key_style))
                later = " -later" if self._screen_keys else ""
                yield Static(Text("Everywhere", style="bold"), classes=f"help-heading{later}")
                yield Static(key_table(GLOBAL_KEYS, key_style))

    def action_close(self) -> None:
        self.dismiss(None)
