"""What the app shows when it cannot open its workspace: the reason, and the way out."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Center, Vertical
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Footer, Static


class StartupErrorScreen(Screen[None]):
    BINDINGS = [Binding("q,escape", "quit", "Quit")]

    def __init__(self, message: str) -> None:
        super().__init__(id="startup-error")
        self._message = message

    def compose(self) -> ComposeResult:
        with Center(), Vertical(classes="dialog error-dialog") as dialog:
            dialog.border_title = "magitui cannot start"
            yield Static(
                Content.from_markup(
                    "$message\n\n[$text-muted]Nothing was changed. Press [b]q[/b] to quit.[/]",
                    message=self._message,
                )
            )
        yield Footer()

    def action_quit(self) -> None:
        # A non-zero status tells scripts (and run_app) that nothing was opened.
        self.app.exit(return_code=1)
