"""Problems found at start-up (config, themes), shown where they cannot be missed."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static

SHOWN = 2  # the banner must leave room for the tables at 80x24


class WarningBanner(Static):
    def __init__(self, warnings: list[str], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.warnings = warnings
        self.display = bool(warnings)

    def on_mount(self) -> None:
        self.update(self._content())

    def _content(self) -> Content:
        lines = [Content.from_markup("[b]![/] $text", text=text) for text in self.warnings[:SHOWN]]
        hidden = len(self.warnings) - SHOWN
        more = f"{hidden} more — press" if hidden > 0 else "Press"
        lines.append(
            Content.from_markup("[$text-muted]$more [b]w[/b] to read them in full[/]", more=more)
        )
        return Content("\n").join(lines)
