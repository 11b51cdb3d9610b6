"""Ask for a name, check it as it is submitted, and explain a refusal in place."""

from __future__ import annotations

from collections.abc import Callable

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

# Returns the problem with a name, or None when the name is acceptable.
NameCheck = Callable[[str], "str | None"]


class NamePromptScreen(ModalScreen["str | None"]):
    """Dismisses with the accepted name, or None when cancelled.

    A rejected name keeps the dialog open with the reason under the input, so
    the user fixes it instead of starting over.
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(
        self,
        title: str,
        prompt: str,
        check: NameCheck,
        value: str = "",
        submit_label: str = "Create",
    ) -> None:
        super().__init__(classes="dialog-screen")
        self._title = title
        self._prompt = prompt
        self._check = check
        self._value = value
        self._submit_label = submit_label

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog prompt") as dialog:
            dialog.border_title = self._title
            yield Static(self._prompt, classes="dialog-message", markup=False)
            yield Input(value=self._value, id="name-input", select_on_focus=True)
            yield Static("", id="name-error", classes="field-error", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel", id="cancel")
                yield Button(self._submit_label, id="submit", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#name-input", Input).focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        # The old complaint is about text that is no longer there.
        self._show_error(None)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "submit":
            self._submit()
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def _submit(self) -> None:
        name = self.query_one("#name-input", Input).value.strip()
        problem = self._check(name)
        if problem:
            self._show_error(problem)
            self.query_one("#name-input", Input).focus()
            return
        self.dismiss(name)

    def _show_error(self, problem: str | None) -> None:
        error = self.query_one("#name-error", Static)
        error.update(problem or "")
        error.display = bool(problem)
