"""A scrolling view of one line per row with a row cursor, for tables that draw their own lines.

Up/down, page up/down and home/end move the cursor; the view scrolls just enough to keep it on
screen, below the view's fixed header lines.
"""

from __future__ import annotations

from textual.binding import Binding
from textual.scroll_view import ScrollView


class RowCursorView(ScrollView):
    HEADER_LINES = 0  # fixed lines above the rows
    BINDINGS = [
        Binding("up", "move(-1)", "Up", show=False),
        Binding("down", "move(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "edge(-1)", "First", show=False),
        Binding("end", "edge(1)", "Last", show=False),
    ]

    def cursor_position(self) -> int:
        raise NotImplementedError

    def row_total(self) -> int:
        raise NotImplementedError

    def _move_to(self, position: int) -> None:
        raise NotImplementedError

    def page_rows(self) -> int:
        return max(1, self.scrollable_content_region.height - self.HEADER_LINES)

    def keep_row_visible(self, row: int, center: bool = False) -> None:
        height = self.page_rows()
        top = int(self.scroll_offset.y)
        if center:
            self.scroll_to(y=max(0, row - height // 2), animate=False, immediate=True)
        elif row < top:
            self.scroll_to(y=row, animate=False, immediate=True)
        elif row >= top + height:
            self.scroll_to(y=row - height + 1, animate=False, immediate=True)

    def action_move(self, delta: int) -> None:
        self._move_to(self.cursor_position() + delta)

    def action_page(self, direction: int) -> None:
        self._move_to(self.cursor_position() + direction * self.page_rows())

    def action_edge(self, direction: int) -> None:
        self._move_to(0 if direction < 0 else self.row_total() - 1)
