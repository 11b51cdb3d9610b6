"""The prompt box: Enter sends, Ctrl+J (or Shift/Alt+Enter) adds a line, pastes keep every line."""

from __future__ import annotations

from dataclasses import dataclass

from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.widgets import TextArea

NEWLINE_KEYS = ("ctrl+j", "shift+enter", "alt+enter")


class ChatInput(TextArea):
    """A TextArea rather than an Input: pasted code keeps its lines (Input keeps only the first)."""

    BINDINGS = [Binding("enter", "submit", "Send")]

    @dataclass
    class Submitted(Message):
        chat_input: ChatInput
        text: str

    def __init__(self, id: str | None = None) -> None:
        super().__init__(id=id, soft_wrap=True, show_line_numbers=False, compact=True)
        self.placeholder = "Ask something — Enter sends, Ctrl+J new line, Esc leaves the box"

    async def _on_key(self, event: events.Key) -> None:
        # TextArea's own handler would insert a newline on Enter; preventing the default stops
        # it, and the key goes on to the Send binding (shown in the footer).
        if event.key == "enter":
            event.prevent_default()
        elif event.key in NEWLINE_KEYS:
            event.stop()
            event.prevent_default()
            self.insert("\n")

    def action_submit(self) -> None:
        self.post_message(self.Submitted(self, self.text))
