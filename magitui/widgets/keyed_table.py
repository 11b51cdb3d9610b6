"""A DataTable that is refreshed from snapshots without flicker or lost place.

Every row has a stable key. Applying a snapshot updates only the cells that
changed; rows are rebuilt only when rows come or go or change order, and then
the cursor goes back to the row it was on (by key, not by position), so a
refresh never yanks the selection away from the user.

Columns can ask for a minimum table width: narrow terminals (80 columns over
SSH) drop the least useful columns instead of scrolling sideways.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from rich.text import Text
from textual import events
from textual.geometry import Size
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey, RowKey


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    min_table_width: int = 0  # shown only when the table is at least this wide


Cells = Mapping[str, Text]
Row = tuple[str, Cells]


class KeyedTable(DataTable[Text]):
    COLUMNS: tuple[Column, ...] = ()

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes, cursor_type="row", zebra_stripes=False)
        self._rows: dict[str, Cells] = {}
        self._order: list[str] = []
        self._visible: tuple[Column, ...] = ()
        self._pending_key: str | None = None
        self._ready = False

    def on_mount(self) -> None:
        self._set_columns(self._columns_for(self.size.width))
        self._ready = True
        if self._rows:  # a snapshot arrived before the columns existed
            self._rebuild(self._all_rows())

    def on_resize(self, event: events.Resize) -> None:
        columns = self._columns_for(event.size.width)
        if self._ready and columns != self._visible:
            self._set_columns(columns)
            self._rebuild(self._all_rows())

    def _all_rows(self) -> Sequence[Row]:
        """Every row the table should show, in order (a subclass may place them lazily)."""
        return list(self._rows.items())

    def _columns_for(self, width: int) -> tuple[Column, ...]:
        return tuple(c for c in self.COLUMNS if width >= c.min_table_width)

    def _set_columns(self, columns: tuple[Column, ...]) -> None:
        self.clear(columns=True)
        self._visible = columns
        for column in columns:
            self.add_column(column.label, key=column.key)

    @property
    def selected_key(self) -> str | None:
        if not self._order or not 0 <= self.cursor_row < len(self._order):
            return None
        return self._order[self.cursor_row]

    def select_key_soon(self, key: str) -> None:
        """Put the cursor on ``key`` now, or once a snapshot containing it arrives."""
        self._pending_key = key
        self._go_to_pending()

    def forget_pending_key(self) -> None:
        self._pending_key = None

    def apply_rows(self, rows: Sequence[Row], force: bool = False) -> bool:
        """Show ``rows`` (key, cells by column key) in order; returns whether anything changed."""
        order = [key for key, _ in rows]
        if not self._ready:
            self._rows = dict(rows)
            return True
        if force or order != self._order:
            self._rebuild(rows)
            return True
        changed = False
        for key, cells in rows:
            old = self._rows[key]
            for column in self._visible:
                new = cells[column.key]
                # Identity first: tables that reuse cell objects skip comparing thousands.
                if old[column.key] is not new and old[column.key] != new:
                    # Re-measuring a column walks all its cells: only when this one is wider
                    # (a live job's duration changes every second, its width seldom).
                    known = self.columns.get(ColumnKey(column.key))
                    if known is None or new.cell_len > known.content_width:
                        self.update_cell(key, column.key, new, update_width=True)
                    else:
                        self._update_cell_in_place(key, column.key, new)
                    changed = True
        self._rows = dict(rows)
        self._go_to_pending()
        return changed

    def watch_virtual_size(self, old: Size, new: Size) -> None:
        """DataTable measures new rows when idle, which on a busy machine comes after a frame
        has painted them at the columns' old widths; its line cache is keyed without the
        widths, so that frame would stay. A new width (the columns were measured) repaints
        from scratch."""
        if old.width != new.width:
            self._update_count += 1
            self.refresh()

    def _update_cell_in_place(self, key: str, column_key: str, value: Text) -> None:
        """Change a cell that fits its column, repainting only its row.

        ``update_cell`` repaints the whole table: on an idle screen whose only change is a
        live job's duration ticking, that full repaint was most of the CPU used. The cell
        store and the cache generation are DataTable's own, as in ``watch_virtual_size``
        (tests/ui/test_live_widgets.py checks both against the installed Textual)."""
        self._data[RowKey(key)][ColumnKey(column_key)] = value
        self._update_count += 1  # the render caches are keyed by it
        self.refresh_row(self.get_row_index(key))

    def _rebuild(self, rows: Sequence[Row]) -> None:
        keep = self.selected_key
        old_row = self.cursor_row
        self.clear()
        for key, cells in rows:
            self.add_row(*(cells[column.key] for column in self._visible), key=key)
        self._rows = dict(rows)
        self._order = [key for key, _ in rows]
        if keep in self._rows:
            target = self._order.index(keep)
        else:  # the row went away: stay at the same height in the list
            target = min(old_row, len(self._order) - 1)
        if target >= 0:
            self.move_cursor(row=target, animate=False)
        self._go_to_pending()

    def _go_to_pending(self) -> None:
        if self._pending_key is not None and self._pending_key in self._rows:
            self.move_cursor(row=self._order.index(self._pending_key), animate=False)
            self._pending_key = None
