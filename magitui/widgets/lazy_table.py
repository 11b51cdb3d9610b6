"""A keyed table that keeps its rows as plain data and draws only the lines on screen.

DataTable builds objects for every row it holds (a row, a key, a cell map, render caches)
and measures every new cell, so a table of thousands of rows has to be placed over many
frames, and every full garbage collection walks all those objects while the user scrolls.
Here a row is a key and a mapping of cells, each cell a (text, style) pair of strings, which
the garbage collector stops looking at after one pass; columns have fixed widths, so nothing
is measured, and a whole snapshot of any size is shown in the frame it arrives in.

Like KeyedTable, it takes whole snapshots (``apply_rows``), keeps the cursor on its row by
key across them (``selected_key``), and drops the columns that ask for a wider table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.geometry import Size
from textual.reactive import reactive
from textual.strip import Strip

from magitui.widgets.row_cursor import RowCursorView

# A cell's text, and the component class that styles it ("" for none).
Cell = tuple[str, str]
Cells = Mapping[str, Cell]
Row = tuple[str, Cells]
HEADER_LINES = 1


@dataclass(frozen=True)
class LazyColumn:
    key: str
    label: str
    width: int  # cells, a space of padding on each side included
    right: bool = False  # right-justified (sizes, counts)
    min_table_width: int = 0  # shown only when the table is at least this wide
    grow: bool = False  # takes the width the other columns leave


class LazyTable(RowCursorView, can_focus=True):
    HEADER_LINES = HEADER_LINES
    COLUMNS: tuple[LazyColumn, ...] = ()
    COMPONENT_CLASSES = {"lazy-table--header", "lazy-table--cursor"}
    DEFAULT_CSS = """
    LazyTable {
        background: $surface;
        color: $foreground;
        overflow-x: hidden;
        &:focus {
            background-tint: $foreground 5%;
            & > .lazy-table--cursor {
                background: $block-cursor-background;
                color: $block-cursor-foreground;
                text-style: $block-cursor-text-style;
            }
        }
        & > .lazy-table--header {
            text-style: bold;
            background: $panel;
            color: $foreground;
        }
        & > .lazy-table--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
    }
    """
    cursor_row: reactive[int] = reactive(0, repaint=False)

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._rows: dict[str, Cells] = {}
        self._order: list[str] = []

    # ---- data ------------------------------------------------------------------------------
    @property
    def keys(self) -> Sequence[str]:
        """Every row's key, in display order."""
        return self._order

    @property
    def row_count(self) -> int:
        return len(self._order)

    def cells(self, key: str) -> Cells:
        return self._rows[key]

    def __contains__(self, key: object) -> bool:
        return key in self._rows

    @property
    def columns(self) -> tuple[LazyColumn, ...]:
        """The columns shown at the table's width."""
        return self._columns_for(self.scrollable_content_region.width or self.size.width)

    @property
    def selected_key(self) -> str | None:
        if not 0 <= self.cursor_row < len(self._order):
            return None
        return self._order[self.cursor_row]

    def apply_rows(self, rows: Sequence[Row], force: bool = False) -> bool:
        """Show ``rows`` (key, cells by column key) in order; the cursor stays on its row,
        by key, or at its height when the row went away. Returns whether anything changed."""
        order = [key for key, _ in rows]
        new = dict(rows)
        if not force and order == self._order and new == self._rows:
            return False
        keep, height = self.selected_key, self.cursor_row
        self._rows, self._order = new, order
        self.virtual_size = Size(0, len(order) + HEADER_LINES)  # cut to width, never wider
        target = order.index(keep) if keep in new else min(height, len(order) - 1)
        self._move_to(max(0, target))
        self.refresh()
        return True

    # ---- drawing ---------------------------------------------------------------------------
    def _columns_for(self, width: int) -> tuple[LazyColumn, ...]:
        return tuple(c for c in self.COLUMNS if width >= c.min_table_width)

    def _widths(self, width: int) -> list[tuple[LazyColumn, int]]:
        columns = self._columns_for(width)
        fixed = sum(column.width for column in columns if not column.grow)
        growing = [column for column in columns if column.grow]
        spare = max(0, width - fixed)
        return [
            (column, max(column.width, spare // len(growing)) if column.grow else column.width)
            for column in columns
        ]

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base = self.rich_style
        widths = self._widths(width)
        if y < HEADER_LINES:
            header = base + self.get_component_rich_style("lazy-table--header")
            labels = [(column.label, "") for column, _ in widths]
            return self._strip(labels, widths, width, header)
        position = int(self.scroll_offset.y) + y - HEADER_LINES
        if position >= len(self._order):
            return Strip.blank(width, base)
        cells = self._rows[self._order[position]]
        row = [cells.get(column.key, ("", "")) for column, _ in widths]
        strip = self._strip(row, widths, width, base)
        if position == self.cursor_row:
            strip = strip.apply_style(self.get_component_rich_style("lazy-table--cursor"))
        return strip

    def _strip(
        self,
        cells: Sequence[Cell],
        widths: Sequence[tuple[LazyColumn, int]],
        width: int,
        base: Style,
    ) -> Strip:
        segments = []
        for (text, style_name), (column, size) in zip(cells, widths, strict=True):
            style = base + self.get_component_rich_style(style_name) if style_name else base
            segments.append(Segment(" ", base))
            segments.append(Segment(_fit(text, size - 2, column.right), style))
            segments.append(Segment(" ", base))
        return Strip(segments).crop_extend(0, width, base)

    # ---- moving ----------------------------------------------------------------------------
    def watch_cursor_row(self, old: int, new: int) -> None:
        self._refresh_position(old)
        self._refresh_position(new)

    def _refresh_position(self, position: int) -> None:
        y = position - int(self.scroll_offset.y) + HEADER_LINES
        if HEADER_LINES <= y < self.size.height:
            self.refresh_lines(y)

    def cursor_position(self) -> int:
        return self.cursor_row

    def row_total(self) -> int:
        return len(self._order)

    def _move_to(self, position: int) -> None:
        if not self._order:
            self.cursor_row = 0
            return
        self.cursor_row = max(0, min(len(self._order) - 1, position))
        self.keep_row_visible(self.cursor_row)

    def on_click(self, event: events.Click) -> None:
        position = int(self.scroll_offset.y) + event.y - HEADER_LINES
        if event.y >= HEADER_LINES and 0 <= position < len(self._order):
            self._move_to(position)

    def on_focus(self) -> None:
        self._refresh_position(self.cursor_row)

    def on_blur(self) -> None:
        self._refresh_position(self.cursor_row)

    def on_resize(self, event: events.Resize) -> None:
        self.virtual_size = Size(0, len(self._order) + HEADER_LINES)
        self._move_to(self.cursor_row)
        self.refresh()


def _fit(text: str, width: int, right: bool) -> str:
    """``text`` in exactly ``width`` cells: cut with an ellipsis when longer."""
    if width <= 0:
        return ""
    if cell_len(text) > width:
        text = set_cell_size(text, width - 1) + "…"
    padding = " " * (width - cell_len(text))
    return padding + text if right else text + padding
