"""The Hugging Face cache table: repos with their revisions beneath, then the other
caches; a mark column shows what is selected for deletion.

Row keys say what a row is: ``repo:<key>``, ``rev:<hash>``, ``extra:<key>``.
"""

from __future__ import annotations

import time

from textual.binding import Binding

from magitui.formatting import NONE
from magitui.widgets.lazy_table import Cell, LazyColumn, LazyTable, Row
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

# Widest repo name shown; a longer one keeps its end ("…coder-6.7b-base"). Kept short
# enough that at 80x24 (a table 76 wide, 74 beside the scrollbar) the columns a user cleans
# by fit: mark 3 + type 16 ("datasets-cache") + name 34 + size 9 + last used 12 = 74. Refs
# come at 90 wide and take the width left.
NAME_WIDTH = 32
# Cell styles: the table's component classes, so a theme change restyles every row.
BOLD, DIM, MARKED, WARNING = (f"cache-table--{name}" for name in ("bold", "dim", "mark", "warning"))
PLAIN = ""
UNMARKED: Cell = (" ", PLAIN)
CHECKED: Cell = (MARK, MARKED)


class CacheTable(LazyTable):
    """Every row of the cache at once: rows are plain data drawn only when on screen."""

    COLUMNS = (
        LazyColumn("mark", " ", 3),
        LazyColumn("type", "Type", 16),
        LazyColumn("name", "Repo / revision", NAME_WIDTH + 2),
        LazyColumn("refs", "Refs", 16, min_table_width=90, grow=True),
        LazyColumn("size", "Size", 9, right=True),
        LazyColumn("used", "Last used", 12, min_table_width=72),
    )
    COMPONENT_CLASSES = LazyTable.COMPONENT_CLASSES | {BOLD, DIM, MARKED, WARNING}
    DEFAULT_CSS = """
    CacheTable {
        & > .cache-table--bold { text-style: bold; }
        & > .cache-table--dim { text-style: dim; }
        & > .cache-table--mark { color: $error; text-style: bold; }
        & > .cache-table--warning { color: $warning; }
    }
    """
    BINDINGS = [
        Binding("space", "screen.toggle_row", "Select"),
        Binding("x,delete", "screen.delete_selected", "Delete"),
        Binding("o", "screen.cycle_sort", "Sort"),
        Binding("r", "screen.rescan", "Rescan"),
    ]


def _day(seconds: float | None) -> str:
    """The local date only: which caches went unused for long is what matters here, and
    a date is 6 columns narrower than date and time."""
    return NONE if not seconds else time.strftime("%Y-%m-%d", time.localtime(seconds))


def _shorten(text: str, width: int) -> str:
    return text if len(text) <= width else "…" + text[-(width - 1) :]


def _repo_cells(repo: HubRepo) -> dict[str, Cell]:
    revs = len(repo.revisions)
    refs = f"{revs} rev{'s' if revs != 1 else ''}"
    if repo.refs:
        refs += f" · {', '.join(repo.refs)}"
    return {
        "type": (repo.repo_type, PLAIN),
        "name": (_shorten(repo.repo_id, NAME_WIDTH), BOLD),
        "refs": (refs, PLAIN),
        "size": (format_size(repo.size), PLAIN),
        "used": (_day(repo.last_accessed), PLAIN),
    }


def _revision_cells(rev: HubRevision) -> dict[str, Cell]:
    return {
        "type": ("", PLAIN),
        "name": (f" └ {rev.commit_hash[:12]}", DIM),
        "refs": (", ".join(rev.refs), PLAIN) if rev.refs else ("detached", WARNING),
        "size": (format_size(rev.size), PLAIN),
        "used": (_day(rev.last_modified), PLAIN),
    }


def _extra_cells(entry: ExtraEntry) -> dict[str, Cell]:
    return {
        "type": (entry.kind, PLAIN),
        "name": (_shorten(entry.name, NAME_WIDTH), PLAIN),
        "refs": (entry.note or NONE, DIM),
        "size": (format_size(entry.size), PLAIN),
        "used": (_day(entry.last_accessed), PLAIN),
    }


def _order(sort: str, size: int, accessed: float, name: str, kind: str) -> tuple[object, ...]:
    if sort == "size":
        return (-size, name)
    if sort == "accessed":
        return (-accessed, name)
    if sort == "type":
        return (kind, name)
    return (name.lower(),)


Group = tuple[HubRepo | ExtraEntry, list[tuple[str, dict[str, Cell]]]]


class CacheRows:
    """The rows of one scan. Cells are built once; choosing rows only swaps the mark
    column, so a keypress on a cache of thousands of revisions stays instant."""

    def __init__(self, scan: CacheScan) -> None:
        self.scan = scan
        self._groups: list[Group] = []
        for repo in scan.hub.repos:
            rows = [(f"repo:{repo.key}", _repo_cells(repo))]
            rows += [(f"rev:{rev.commit_hash}", _revision_cells(rev)) for rev in repo.revisions]
            self._groups.append((repo, rows))
        for entry in scan.extras:
            self._groups.append((entry, [(f"extra:{entry.key}", _extra_cells(entry))]))
        self._sorted: dict[str, list[Group]] = {}

    def order(self, sort: str) -> list[Group]:
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
        marked, unmarked = CHECKED, UNMARKED
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
