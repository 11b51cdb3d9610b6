"""The Hugging Face cache table: repos with their revisions beneath, then the other
caches; a mark column shows what is selected for deletion.

Row keys say what a row is: ``repo:<key>``, ``rev:<hash>``, ``extra:<key>``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from functools import partial

from rich.style import Style
from rich.text import Text
from textual.binding import Binding

from magitui.formatting import NONE
from magitui.widgets.keyed_table import Column, KeyedTable, Row
from magitui_core.cache.catalog import (
    CacheScan,
    Selection,
    format_size,
    is_repo_selected,
    is_revision_selected,
)
from magitui_core.cache.extras import ExtraEntry
from magitui_core.cache.hub_scan import HubRepo, HubRevision

SORTS = ("size", "accessed", "name", "type")
MARK = "✓"


# A big table is placed over several frames: the rows the screen shows at once, then
# more rows every FILL_PAUSE, adding for at most FILL_BUDGET seconds a turn. Each turn
# also makes DataTable measure the new cells (about four times the cost of adding
# them) and redraw, so a turn keeps the event loop busy for 10-25 ms, not a whole
# 50 ms frame (benchmarks/cache_scan.py measures it).
FIRST_ROWS = 50  # a tall terminal's screenful; measuring 100 at once stalled a frame
FILL_BUDGET = 0.002
FILL_MAX_ROWS = 40  # and never more a turn: the measuring that follows grows with them
FILL_PAUSE = 0.01


# Widest repo name shown; a longer one keeps its end ("…coder-6.7b-base"). Kept short
# enough that at 80x24 (a table 76 wide) the columns a user cleans by fit beside the
# 2-column scrollbar: mark 3 + type 16 ("datasets-cache") + name 34 + size 9 + last
# used 12 = 74. Refs (~16 more) come at 90 wide.
NAME_WIDTH = 32


class CacheTable(KeyedTable):
    COLUMNS = (
        Column("mark", " "),
        Column("type", "Type"),
        Column("name", "Repo / revision"),
        Column("refs", "Refs", min_table_width=90),
        Column("size", "Size"),
        Column("used", "Last used", min_table_width=72),
    )
    BINDINGS = [
        Binding("space", "screen.toggle_row", "Select"),
        Binding("x,delete", "screen.delete_selected", "Delete"),
        Binding("o", "screen.cycle_sort", "Sort"),
        Binding("r", "screen.rescan", "Rescan"),
    ]

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._target: Sequence[Row] = ()  # every row of the last rebuild, placed or not
        self._target_keys: list[str] = []
        self._generation = 0  # of the fill in progress; a newer rebuild cancels it

    @property
    def filling(self) -> bool:
        """Whether rows of the last rebuild are still being placed."""
        return len(self._order) < len(self._target_keys)

    def apply_rows(self, rows: Sequence[Row], force: bool = False) -> bool:
        """As KeyedTable's; while a fill is placing these very rows, the placed ones get
        their new cells in place and the fill goes on with the new cells (a keypress
        during the fill does not start it over)."""
        same_rows = self.filling and [key for key, _ in rows] == self._target_keys
        if self._ready and not force and same_rows:
            self._target = rows
            return super().apply_rows(rows[: len(self._order)])
        return super().apply_rows(rows, force=force)

    def _all_rows(self) -> Sequence[Row]:
        return self._target if self.filling else super()._all_rows()

    def _rebuild(self, rows: Sequence[Row]) -> None:
        """Place the first rows now, the rest over the next frames: thousands of rows at
        once would freeze the screen. The cursor keeps its row when that row is among
        the first; one further down (after a re-sort) would have to be placed at once
        with all the rows above it, so the cursor goes to the top instead."""
        self._generation += 1
        self._target = rows
        self._target_keys = [key for key, _ in rows]
        keep = self.selected_key
        super()._rebuild(rows[:FIRST_ROWS])
        if keep is not None and keep not in self._rows and keep in self._target_keys:
            self.move_cursor(row=0, animate=False)
        if len(rows) > FIRST_ROWS:
            self.set_timer(FILL_PAUSE, partial(self._place_more, self._generation))

    def _place_more(self, generation: int) -> None:
        if generation != self._generation:
            return
        rows, start = self._target, len(self._order)
        end = start
        deadline = time.perf_counter() + FILL_BUDGET
        while end < len(rows):  # at least one row a turn, however slow the machine
            key, cells = rows[end]
            self.add_row(*(cells[column.key] for column in self._visible), key=key)
            end += 1
            if time.perf_counter() >= deadline or end - start >= FILL_MAX_ROWS:
                break
        self._rows.update(rows[start:end])
        self._order.extend(self._target_keys[start:end])
        # Every added row makes DataTable's cached renders stale; left in its caches,
        # those of a whole fill (thousands of strips) would linger until evicted and
        # make each full garbage collection walk them. Drop them: they are redrawn anyway.
        self.notify_style_update()
        self._go_to_pending()
        if end < len(rows):
            self.set_timer(FILL_PAUSE, partial(self._place_more, generation))


def _text(value: str, style: Style | str = "", right: bool = False) -> Text:
    return Text(value, style=style, justify="right" if right else "left", no_wrap=True)


def _day(seconds: float | None) -> str:
    """The local date only: which caches went unused for long is what matters here, and
    a date is 6 columns narrower than date and time."""
    return NONE if not seconds else time.strftime("%Y-%m-%d", time.localtime(seconds))


def _shorten(text: str, width: int) -> str:
    return text if len(text) <= width else "…" + text[-(width - 1) :]


class _Styles:
    """Styles built once per table fill, not once per cell; unstyled cells shared."""

    def __init__(self, colours: Mapping[str, str]) -> None:
        # One Text per distinct plain value (types, sizes, minutes, refs repeat a lot):
        # each Text is three objects that every full garbage collection walks.
        self._plain: dict[tuple[str, bool], Text] = {}
        mark_style = Style(color=colours.get("error"), bold=True)
        self.marked = _text(MARK, mark_style)
        self.unmarked = _text(" ")
        self.bold = Style(bold=True)
        self.dim = Style(dim=True)
        self.detached = _text("detached", Style(color=colours.get("warning")))
        self.empty = _text("")

    def plain(self, value: str, right: bool = False) -> Text:
        cell = self._plain.get((value, right))
        if cell is None:
            cell = self._plain[value, right] = _text(value, right=right)
        return cell


def _repo_cells(repo: HubRepo, styles: _Styles) -> dict[str, Text]:
    revs = len(repo.revisions)
    refs = f"{revs} rev{'s' if revs != 1 else ''}"
    if repo.refs:
        refs += f" · {', '.join(repo.refs)}"
    return {
        "type": styles.plain(repo.repo_type),
        "name": _text(_shorten(repo.repo_id, NAME_WIDTH), styles.bold),
        "refs": styles.plain(refs),
        "size": styles.plain(format_size(repo.size), right=True),
        "used": styles.plain(_day(repo.last_accessed)),
    }


def _revision_cells(rev: HubRevision, styles: _Styles) -> dict[str, Text]:
    return {
        "type": styles.empty,
        "name": _text(f" └ {rev.commit_hash[:12]}", styles.dim),
        "refs": styles.plain(", ".join(rev.refs)) if rev.refs else styles.detached,
        "size": styles.plain(format_size(rev.size), right=True),
        "used": styles.plain(_day(rev.last_modified)),
    }


def _extra_cells(entry: ExtraEntry, styles: _Styles) -> dict[str, Text]:
    return {
        "type": styles.plain(entry.kind),
        "name": styles.plain(_shorten(entry.name, NAME_WIDTH)),
        "refs": _text(entry.note or NONE, styles.dim),
        "size": styles.plain(format_size(entry.size), right=True),
        "used": styles.plain(_day(entry.last_accessed)),
    }


def _order(sort: str, size: int, accessed: float, name: str, kind: str) -> tuple[object, ...]:
    if sort == "size":
        return (-size, name)
    if sort == "accessed":
        return (-accessed, name)
    if sort == "type":
        return (kind, name)
    return (name.lower(),)


class CacheRows:
    """The rows of one scan. Cells are built once; choosing rows only swaps the mark
    column, so a keypress on a cache of thousands of revisions stays instant."""

    def __init__(self, scan: CacheScan, colours: Mapping[str, str]) -> None:
        self.scan = scan
        self._styles = _Styles(colours)
        self._groups: list[tuple[HubRepo | ExtraEntry, list[tuple[str, dict[str, Text]]]]] = []
        for repo in scan.hub.repos:
            rows = [(f"repo:{repo.key}", _repo_cells(repo, self._styles))]
            rows += [
                (f"rev:{rev.commit_hash}", _revision_cells(rev, self._styles))
                for rev in repo.revisions
            ]
            self._groups.append((repo, rows))
        for entry in scan.extras:
            self._groups.append(
                (entry, [(f"extra:{entry.key}", _extra_cells(entry, self._styles))])
            )
        self._sorted: dict[
            str, list[tuple[HubRepo | ExtraEntry, list[tuple[str, dict[str, Text]]]]]
        ] = {}

    def order(
        self, sort: str
    ) -> list[tuple[HubRepo | ExtraEntry, list[tuple[str, dict[str, Text]]]]]:
        """The rows grouped by repo, sorted by ``sort`` (worked out once per sort)."""
        if sort not in self._sorted:

            def order(group: tuple[HubRepo | ExtraEntry, object]) -> tuple[object, ...]:
                item = group[0]
                if isinstance(item, HubRepo):
                    return _order(sort, item.size, item.last_accessed, item.repo_id, item.repo_type)
                return _order(sort, item.size, item.last_accessed, item.name, item.kind)

            self._sorted[sort] = sorted(self._groups, key=order)
        return self._sorted[sort]

    def rows(self, selection: Selection, sort: str) -> list[Row]:
        """Every row in ``sort`` order, a repo's revisions right under it."""
        marked, unmarked = self._styles.marked, self._styles.unmarked
        out: list[Row] = []
        for item, rows in self.order(sort):
            if isinstance(item, HubRepo):
                whole = is_repo_selected(selection, item)
                out.append((rows[0][0], {**rows[0][1], "mark": marked if whole else unmarked}))
                for (key, cells), rev in zip(rows[1:], item.revisions, strict=True):
                    picked = is_revision_selected(selection, item, rev)
                    out.append((key, {**cells, "mark": marked if picked else unmarked}))
            else:
                key, cells = rows[0]
                picked = item.key in selection.extras
                out.append((key, {**cells, "mark": marked if picked else unmarked}))
        return out
