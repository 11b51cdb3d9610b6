"""Pick a saved chat transcript (newest first) to load."""

from __future__ import annotations

import time
from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option


class TranscriptPickerScreen(ModalScreen["Path | None"]):
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, folder: Path, paths: list[Path]) -> None:
        super().__init__(classes="dialog-screen")
        self._folder = folder
        self._paths = paths

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog chat-transcripts") as dialog:
            dialog.border_title = "Load a transcript"
            dialog.border_subtitle = "Enter load · Esc cancel"
            yield Static(f"Saved chats in {self._folder}", classes="dialog-message", markup=False)
            options = [
                Option(f"{path.name}  {_saved_at(path)}", id=str(index))
                for index, path in enumerate(self._paths)
            ]
            yield OptionList(*options, id="transcript-list")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(self._paths[int(event.option.id or 0)])

    def action_cancel(self) -> None:
        self.dismiss(None)


def _saved_at(path: Path) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(path.stat().st_mtime))
