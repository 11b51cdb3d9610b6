"""A cache of many rows is shown whole, at once: selecting, resizing, sorting and paging
keep every row, every mark and the cursor's row; and the table's rows leave the garbage
collector nothing to walk once it has seen them."""

from __future__ import annotations

import gc
from pathlib import Path

from cache_layout import RepoBuilder
from textual.pilot import Pilot

from magitui.app import MagituiApp
from magitui.screens.monitor.cache_table import MARK, CacheRows, CacheTable
from magitui.screens.monitor.screen import MonitorScreen
from magitui_core.cache.catalog import Selection
from tests.ui.pilot_helpers import drive, screen_text, settle, wait_until

REPOS = 30


def build_cache(hub: Path) -> list[str]:
    """REPOS models, each with a main and a detached revision, bigger as they go;
    returns the repo keys biggest first (the table's first order)."""
    keys = []
    for index in range(REPOS):
        repo = RepoBuilder(hub, "model", f"org/m{index:02d}")
        repo.revision("main", {"weights.bin": bytes([index]) * (1000 + 100 * index)}, ("main",))
        repo.revision("old", {"weights.bin": b"o" * (10 + index)})
        keys.append(f"repo:{repo.key}")
    return keys[::-1]


def marks(table: CacheTable) -> dict[str, str]:
    return {key: table.cells(key)["mark"][0].strip() for key in table.keys}


def test_selecting_resizing_sorting_and_paging_a_big_table(cache_env: Path) -> None:
    biggest_first = build_cache(cache_env / "hf" / "hub")

    async def scenario(pilot: Pilot[None]) -> None:
        await pilot.press("m")
        await settle(pilot)
        await pilot.press("2")
        screen = pilot.app.screen
        assert isinstance(screen, MonitorScreen)
        await wait_until(pilot, lambda: screen.scan is not None, "the cache scan")
        table = screen.query_one(CacheTable)
        every_key = [key for key, _ in screen._rows.rows(screen.selection, "size")]
        assert list(table.keys) == every_key and table.row_count == 3 * REPOS  # all at once

        await pilot.press("space")  # the biggest repo and both its revisions
        assert table.selected_key == biggest_first[0]
        assert "1 selected" in str(screen.query_one("#cache-status").render())
        selected = {biggest_first[0]} | {key for key in every_key[1:3]}
        assert {key for key, mark in marks(table).items() if mark == MARK} == selected
        assert f"{MARK}  model           org/m29" in screen_text(pilot.app)  # drawn too

        await pilot.resize_terminal(120, 40)
        await settle(pilot)
        assert [column.key for column in table.columns][-3:] == ["refs", "size", "used"]
        assert table.selected_key == biggest_first[0]

        await pilot.press("o", "o")  # by name: the selected repo is now the last one
        repos = [key for key in table.keys if key.startswith("repo:")]
        assert repos == sorted(biggest_first)
        assert table.selected_key == biggest_first[0]  # the cursor went with its row
        assert table.cursor_row == table.keys.index(biggest_first[0])
        assert "org/m29" in screen_text(pilot.app)  # scrolled to it
        assert marks(table)[biggest_first[0]] == MARK

        await pilot.press("home", "pagedown")
        assert table.cursor_row > 10  # a page down
        await pilot.press("end")
        assert table.selected_key == table.keys[-1]

    drive(MagituiApp(), scenario)


def test_rows_are_plain_data_the_collector_stops_walking(cache_env: Path) -> None:
    """Thousands of rows cost every full collection nothing: cells are tuples of strings,
    which the collector untracks on its first look, so a row is one dict it skips too."""
    from magitui_core.cache.catalog import CacheLocations, scan_cache

    build_cache(cache_env / "hf" / "hub")
    scan = scan_cache(CacheLocations.from_env())
    rows = CacheRows(scan).rows(Selection(), "size")
    gc.collect()
    cells = [cell for _, row in rows for cell in row.values()]
    assert len(cells) == 3 * REPOS * 6
    assert not any(gc.is_tracked(cell) for cell in cells)
    assert not any(gc.is_tracked(row) for _, row in rows)
