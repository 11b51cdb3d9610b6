"""A scrollable read-only text in a dialog: full warnings, long messages."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static


class TextModal(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,enter", "close", "Close")]

    def __init__(self, title: str, body: str | Content) -> None:
        super().__init__(classes="dialog-screen")
        self._title = title
        self._body = body

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog text-dialog") as dialog:
            dialog.border_title = self._title
            dialog.border_subtitle = "Esc close"
            with VerticalScroll(classes="dialog-scroll"):
                yield Static(self._body, markup=False)

    def action_close(self) -> None:
        self.dismiss(None)
