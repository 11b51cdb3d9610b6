"""The Hugging Face cache table: repos with their revisions beneath, then the other
caches; a mark column shows what is selected for deletion.

Row keys say what a row is: ``repo:<key>``, ``rev:<hash>``, ``extra:<key>``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rich.style import Style
from rich.text import Text
from textual.binding import Binding

from magitui.formatting import NONE, format_timestamp
from magitui.widgets.keyed_table import Column, KeyedTable, Row
from magitui_core.cache_extras import ExtraEntry
from magitui_core.cache_scan import HubRepo, HubRevision
from magitui_core.hfcache import (
    CacheScan,
    Selection,
    format_size,
    is_repo_selected,
    is_revision_selected,
)

SORTS = ("size", "accessed", "name", "type")
MARK = "✓"


FILL_CHUNK = 200  # rows added per frame when a big scan replaces the table


class CacheTable(KeyedTable):
    COLUMNS = (
        Column("mark", " "),
        Column("type", "Type"),
        Column("name", "Repo / revision"),
        Column("refs", "Refs", min_table_width=70),
        Column("size", "Size"),
        Column("used", "Last used", min_table_width=90),
    )
    BINDINGS = [
        Binding("space", "screen.toggle_row", "Select"),
        Binding("x,delete", "screen.delete_selected", "Delete"),
        Binding("o", "screen.cycle_sort", "Sort"),
        Binding("r", "screen.rescan", "Rescan"),
    ]

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._fill = 0  # generation of the fill in progress; a newer one cancels it

    def apply_rows(self, rows: Sequence[Row], force: bool = False) -> bool:
        """As KeyedTable's, but a big rebuild is spread over frames (a few thousand
        rows at once would freeze the screen for half a second)."""
        self._fill += 1
        rebuild = force or [key for key, _ in rows] != self._order
        if not self._ready or not rebuild or len(rows) <= FILL_CHUNK:
            return super().apply_rows(rows, force=force)
        super().apply_rows(rows[:FILL_CHUNK], force=True)
        self.call_after_refresh(self._fill_more, rows, FILL_CHUNK, self._fill)
        return True

    def _fill_more(self, rows: Sequence[Row], start: int, generation: int) -> None:
        if generation != self._fill:
            return
        chunk = rows[start : start + FILL_CHUNK]
        for key, cells in chunk:
            self.add_row(*(cells[column.key] for column in self._visible), key=key)
        self._rows.update(chunk)
        self._order += [key for key, _ in chunk]
        self._go_to_pending()
        if start + FILL_CHUNK < len(rows):
            self.call_after_refresh(self._fill_more, rows, start + FILL_CHUNK, generation)


def _text(value: str, style: Style | str = "", right: bool = False) -> Text:
    return Text(value, style=style, justify="right" if right else "left", no_wrap=True)


def _shorten(text: str, width: int) -> str:
    return text if len(text) <= width else "…" + text[-(width - 1) :]


class _Styles:
    """Styles built once per table fill, not once per cell."""

    def __init__(self, colours: Mapping[str, str]) -> None:
        mark_style = Style(color=colours.get("error"), bold=True)
        self.marked = _text(MARK, mark_style)
        self.unmarked = _text(" ")
        self.bold = Style(bold=True)
        self.dim = Style(dim=True)
        self.detached = _text("detached", Style(color=colours.get("warning")))
        self.empty = _text("")


def _repo_cells(repo: HubRepo, styles: _Styles) -> dict[str, Text]:
    revs = len(repo.revisions)
    refs = f"{revs} rev{'s' if revs != 1 else ''}"
    if repo.refs:
        refs += f" · {', '.join(repo.refs)}"
    return {
        "type": _text(repo.repo_type),
        "name": _text(_shorten(repo.repo_id, 40), styles.bold),
        "refs": _text(refs),
        "size": _text(format_size(repo.size), right=True),
        "used": _text(format_timestamp(repo.last_accessed)),
    }


def _revision_cells(rev: HubRevision, styles: _Styles) -> dict[str, Text]:
    return {
        "type": styles.empty,
        "name": _text(f" └ {rev.commit_hash[:12]}", styles.dim),
        "refs": _text(", ".join(rev.refs)) if rev.refs else styles.detached,
        "size": _text(format_size(rev.size), right=True),
        "used": _text(format_timestamp(rev.last_modified)),
    }


def _extra_cells(entry: ExtraEntry, styles: _Styles) -> dict[str, Text]:
    return {
        "type": _text(entry.kind),
        "name": _text(_shorten(entry.name, 40)),
        "refs": _text(entry.note or NONE, styles.dim),
        "size": _text(format_size(entry.size), right=True),
        "used": _text(format_timestamp(entry.last_accessed) if entry.last_accessed else NONE),
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

    def _in_order(
        self, sort: str
    ) -> list[tuple[HubRepo | ExtraEntry, list[tuple[str, dict[str, Text]]]]]:
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
        for item, rows in self._in_order(sort):
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
