"""The one-line bar at the top of every screen: app, section, workspace."""

from __future__ import annotations

from textual.content import Content
from textual.widget import Widget

from magitui.formatting import shorten_path


class TitleBar(Widget):
    """``magitui › Home`` on the left, the workspace path on the right.

    Textual's Header centres one title and adds a clock; here the path is what
    tells two sessions over SSH apart, so it gets the space and is shortened from
    the left (its last folders are the distinctive part).
    """

    def __init__(self, section: str, workspace: str) -> None:
        super().__init__()
        self.section = section
        self.workspace = workspace

    def render(self) -> Content:
        width = self.content_size.width
        left = Content.from_markup(
            "[b $accent]magitui[/] [$text-muted]›[/] [b]$section[/]", section=self.section
        )
        room = width - left.cell_length - 2
        label = "workspace "
        if room >= len(label) + 12:
            path = Content.styled(label, "$text-muted") + shorten_path(
                self.workspace, room - len(label)
            )
        else:
            path = Content(shorten_path(self.workspace, max(0, room)))
        gap = max(1, width - left.cell_length - path.cell_length)
        return Content.assemble(left, " " * gap, path)
