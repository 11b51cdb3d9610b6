"""A one-line yes/no answer: a compact checkbox whose label says its state in words, so the
answer reads the same on a 16-colour terminal, in tmux copy mode and in a screen reader."""

from __future__ import annotations

from textual.widgets import Checkbox


class YesNo(Checkbox):
    def __init__(
        self, value: bool = False, *, id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__("yes" if value else "no", value, id=id, classes=classes, compact=True)

    def watch_value(self) -> None:
        self.label = "yes" if self.value else "no"
        super().watch_value()
