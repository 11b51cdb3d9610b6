"""A table of data rows that renders only the rows on screen (Textual's Line API).

DataTable builds every row up front, which is too slow for 100 000 records; here the
rows stay plain Python objects and each visible line is drawn when Textual asks for it.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.strip import Strip

from magitui.widgets.row_cursor import RowCursorView
from magitui_core.curation.data_rows import KEPT, REJECTED, REMOVED, DataRow

STATUS_CLASSES = {
    KEPT: "record-table--kept",
    REMOVED: "record-table--removed",
    REJECTED: "record-table--rejected",
}


def column_widths(width: int) -> tuple[int, int, int, int, int]:
    """Widths of #, status, tokens, reason and title for a table ``width`` cells wide."""
    number, status, tokens = 7, 9, 7
    reason = 26 if width >= 96 else 18 if width >= 70 else 0
    title = max(0, width - number - status - tokens - reason)
    return number, status, tokens, reason, title


def header_text(width: int) -> str:
    number, status, tokens, reason, title = column_widths(width)
    parts = [("#", number), ("status", status), ("tokens", tokens)]
    if reason:
        parts.append(("reason", reason))
    parts.append(("problem", title))
    return "".join(_fit(label, size) for label, size in parts)


def _fit(text: str, width: int, right: bool = False) -> str:
    if width <= 0:
        return ""
    text = text.replace("\n", " ")
    if cell_len(text) > width - 1:
        text = set_cell_size(text, width - 2) + "…"
    return (text.rjust(width - 1) if right else set_cell_size(text, width - 1)) + " "


class RecordTable(RowCursorView, can_focus=True):
    """Rows of a data file, in the order of ``show``; the cursor is a position in that order."""

    COMPONENT_CLASSES = {
        "record-table--cursor",
        "record-table--kept",
        "record-table--removed",
        "record-table--rejected",
        "record-table--over",
    }
    BINDINGS = [
        Binding("enter", "select", "Record"),
    ]

    cursor: reactive[int] = reactive(0, always_update=True, repaint=False)

    class Selected(Message):
        """Enter on a row: ``index`` is into the full row list."""

        def __init__(self, index: int) -> None:
            super().__init__()
            self.index = index

    class Highlighted(Message):
        def __init__(self, index: int | None) -> None:
            super().__init__()
            self.index = index

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.rows: Sequence[DataRow] = ()
        self.order: list[int] = []
        self.token_limit = 0

    # ---- data ------------------------------------------------------------------------------
    def show(self, rows: Sequence[DataRow], order: list[int], token_limit: int = 0) -> None:
        """Show ``rows[i]`` for each i in ``order``, keeping the cursor on the same row if it
        is still there."""
        current = self.current_index
        self.rows, self.order, self.token_limit = rows, order, token_limit
        self.virtual_size = Size(self.size.width, len(order))
        position = 0
        if current is not None and order:
            # Order lists are sorted, so the old row (or its nearest neighbour) is a bisect away.
            position = min(bisect.bisect_left(order, current), len(order) - 1)
        self.cursor = position
        self.keep_row_visible(self.cursor, center=True)
        self.refresh()

    @property
    def current_index(self) -> int | None:
        if not self.order or not 0 <= self.cursor < len(self.order):
            return None
        return self.order[self.cursor]

    @property
    def current_row(self) -> DataRow | None:
        index = self.current_index
        return None if index is None else self.rows[index]

    def refresh_rows(self) -> None:
        """Statuses changed in place: redraw what is visible."""
        self.refresh()

    # ---- drawing ---------------------------------------------------------------------------
    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        position = int(self.scroll_offset.y) + y
        base = self.rich_style
        if position >= len(self.order):
            return Strip.blank(width, base)
        row = self.rows[self.order[position]]
        number, status, tokens, reason, title = column_widths(width)
        status_style = base
        if row.status in STATUS_CLASSES:
            status_style = base + self.get_component_rich_style(STATUS_CLASSES[row.status])
        token_style = base
        if self.token_limit and row.tokens > self.token_limit:
            token_style = base + self.get_component_rich_style("record-table--over")
        segments = [
            Segment(_fit(str(self.order[position] + 1), number, right=True), base),
            Segment(_fit(row.status, status), status_style),
            Segment(_fit(f"{row.tokens:,}", tokens, right=True), token_style),
        ]
        if reason:
            segments.append(Segment(_fit(row.reason or "—", reason), base))
        segments.append(Segment(_fit(row.title, title), base))
        strip = Strip(segments).crop_extend(0, width, base)
        if position == self.cursor:
            cursor = self.get_component_rich_style("record-table--cursor")
            strip = strip.apply_style(cursor if self.has_focus else cursor + Style(dim=True))
        return strip

    # ---- moving ----------------------------------------------------------------------------
    def watch_cursor(self, old: int, new: int) -> None:
        self.refresh_line(old)
        self.refresh_line(new)
        self.post_message(self.Highlighted(self.current_index))

    def refresh_line(self, position: int) -> None:
        y = position - int(self.scroll_offset.y)
        if 0 <= y < self.size.height:
            self.refresh_lines(y)

    def cursor_position(self) -> int:
        return self.cursor

    def row_total(self) -> int:
        return len(self.order)

    def _move_to(self, position: int) -> None:
        if not self.order:
            return
        self.cursor = max(0, min(len(self.order) - 1, position))
        self.keep_row_visible(self.cursor)

    def action_select(self) -> None:
        index = self.current_index
        if index is not None:
            self.post_message(self.Selected(index))

    def on_click(self, event: events.Click) -> None:
        position = int(self.scroll_offset.y) + event.y
        if 0 <= position < len(self.order):
            self._move_to(position)
            if event.chain >= 2:
                self.action_select()

    def on_focus(self) -> None:
        self.refresh_line(self.cursor)

    def on_blur(self) -> None:
        self.refresh_line(self.cursor)

    def on_resize(self, event: events.Resize) -> None:
        self.virtual_size = Size(event.size.width, len(self.order))
