"""Screenshots of the Monitor with frozen machine figures and a cache built at fixed
paths and times: no GPU (this machine), two GPUs with a job, and the delete dialog."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cache_layout import Layout, build_layout
from frozen_monitor import T0, TWO_GPUS, fixed_sources
from textual.pilot import Pilot

import magitui.screens.monitor.screen as monitor_module
from magitui.app import MagituiApp
from magitui.screens.monitor.screen import MonitorScreen
from tests.ui.pilot_helpers import settle, wait_until

BASE = Path("/tmp/magitui-monitor-snapshot")  # shown on screen, so never tmp_path


@pytest.fixture
def fixed_place(monkeypatch: pytest.MonkeyPatch) -> Iterator[Layout]:
    shutil.rmtree(BASE, ignore_errors=True)
    env = {
        "MAGITUI_CONFIG": str(BASE / "config" / "config.toml"),
        "MAGITUI_CREDENTIALS": str(BASE / "config" / "credentials.toml"),
        "MAGITUI_HOME": str(BASE / "workspace"),
        "HF_HOME": str(BASE / "hf"),
        "XDG_CACHE_HOME": str(BASE / "cache"),
        "TORCH_EXTENSIONS_DIR": str(BASE / "torch_extensions"),
        "PIP_CACHE_DIR": str(BASE / "pip"),
        "TZ": "UTC",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    for name in ("HF_HUB_CACHE", "HF_DATASETS_CACHE", "HF_XET_CACHE", "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    time.tzset()
    layout = build_layout(BASE / "hf", BASE / "outside")
    for folder, dirs, files in os.walk(BASE):
        for name in dirs + files:
            os.utime(Path(folder, name), (T0, T0), follow_symlinks=False)
    yield layout
    monkeypatch.undo()
    time.tzset()
    shutil.rmtree(BASE, ignore_errors=True)


def _open(keys: tuple[str, ...] = (), cache: bool = False):  # type: ignore[no-untyped-def]
    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("m")
        await settle(pilot)
        screen = pilot.app.screen
        # The GPU read has its own thread and a short wait: on a loaded machine the first
        # poll can come back before it. The picture is of the figures, so wait for them.
        await wait_until(
            pilot,
            lambda: (
                screen.query_one("#gpu-panel").border_subtitle != ""
                or "No NVIDIA" in str(screen.query_one("#gpu-panel").render())
            ),
            "the GPU figures",
        )
        await settle(pilot)
        if cache:
            await pilot.press("2")
            screen = pilot.app.screen
            assert isinstance(screen, MonitorScreen)
            await wait_until(pilot, lambda: screen.scan is not None, "the scan")
            await settle(pilot)
        for key in keys:
            await pilot.press(key)
            await settle(pilot)
        await pilot.pause(0.2)

    return run_before


def test_machine_without_gpu(fixed_place: Layout, monkeypatch, snap_compare) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(monitor_module, "default_sources", lambda ctx: fixed_sources())
    assert snap_compare(MagituiApp(), terminal_size=(80, 24), run_before=_open())


def test_machine_with_two_gpus(fixed_place: Layout, monkeypatch, snap_compare) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(monitor_module, "default_sources", lambda ctx: fixed_sources(TWO_GPUS))
    assert snap_compare(MagituiApp(), terminal_size=(120, 40), run_before=_open())


def test_cache_delete_dialog(fixed_place: Layout, monkeypatch, snap_compare) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(monitor_module, "default_sources", lambda ctx: fixed_sources())
    # Sorted by type, so that the one table row left in view under the dialog is a revision
    # (dated by its fixed mtime), not an extra cache folder (dated by its atime, which the
    # scan's own directory reads move to today). The cursor stays on org/alpha, the
    # biggest repo; down to its detached revision, select it, ask to delete.
    keys = ("o", "o", "o", "down", "down", "space", "x")
    assert snap_compare(MagituiApp(), terminal_size=(80, 24), run_before=_open(keys, cache=True))
