"""A cache too big to place in one frame: the table fills over several turns, and
selecting, resizing and sorting while it fills lose no row and no mark."""

from __future__ import annotations

from pathlib import Path

import pytest
from cache_layout import RepoBuilder
from textual.pilot import Pilot

import magitui.screens.monitor.cache_table as cache_table
from magitui.app import MagituiApp
from magitui.screens.monitor.cache_table import MARK, CacheTable
from magitui.screens.monitor.screen import MonitorScreen
from tests.ui.pilot_helpers import drive, settle, wait_until

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
    return {key: table.get_cell(key, "mark").plain.strip() for key in table._order}


def test_selecting_and_resizing_while_the_table_fills(
    cache_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    biggest_first = build_cache(cache_env / "hf" / "hub")
    # One row a turn, slowly: the fill is still going while the keys below are pressed.
    monkeypatch.setattr(cache_table, "FIRST_ROWS", 10)
    monkeypatch.setattr(cache_table, "FILL_BUDGET", 0.0)
    monkeypatch.setattr(cache_table, "FILL_PAUSE", 0.5)

    async def scenario(pilot: Pilot[None]) -> None:
        await pilot.press("m")
        await settle(pilot)
        await pilot.press("2")
        screen = pilot.app.screen
        assert isinstance(screen, MonitorScreen)
        await wait_until(pilot, lambda: screen.scan is not None, "the cache scan")
        table = screen.query_one(CacheTable)
        every_key = [key for key, _ in screen._rows.rows(screen.selection, "size")]
        assert table.filling and table.row_count < len(every_key)
        assert table._order == every_key[: table.row_count]  # placed in display order

        fill = table._generation
        await pilot.press("space")  # the biggest repo, whose rows are all placed
        assert table.selected_key == biggest_first[0]
        assert "1 selected" in str(screen.query_one("#cache-status").render())
        assert table.filling and table._generation == fill  # the fill goes on, not over
        assert marks(table)[biggest_first[0]] == MARK

        await pilot.resize_terminal(120, 40)  # new columns: rebuilt, still complete
        await settle(pilot)
        assert table.filling and table.selected_key == biggest_first[0]

        monkeypatch.setattr(cache_table, "FILL_BUDGET", 10.0)
        monkeypatch.setattr(cache_table, "FILL_PAUSE", 0.001)
        await wait_until(pilot, lambda: not table.filling, "the table to fill")
        assert table._order == every_key
        assert table.row_count == len(every_key)
        selected = {biggest_first[0]} | {key for key in every_key[1:3] if key.startswith("rev:")}
        assert {key for key, mark in marks(table).items() if mark == MARK} == selected
        assert table.ordered_columns[-1].key == "used"  # the wide layout's last column

        await pilot.press("o", "o")  # by name: the whole table again, in the new order
        await wait_until(pilot, lambda: not table.filling, "the sorted table to fill")
        repos = [key for key in table._order if key.startswith("repo:")]
        assert repos == sorted(biggest_first)
        assert marks(table)[biggest_first[0]] == MARK
        # The selected repo is now last by name, past the first rows: the cursor went
        # to the top rather than place every row above it at once.
        assert table.cursor_row == 0

        await pilot.press("down", "down")
        chosen = table.selected_key
        await pilot.press("o")  # by type (all models: by name again): a first row stays put
        assert "by type" in str(screen.query_one("#cache-status").render())
        assert table.selected_key == chosen and table.cursor_row == 2

    drive(MagituiApp(), scenario)
