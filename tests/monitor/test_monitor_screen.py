"""The Monitor screen driven by key presses: machine panels (real, faked NVML, stalled
NVML), and the HF cache table — select, confirm (No by default), delete, see it refresh."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import pynvml
import pytest
from cache_layout import Layout, RepoBuilder
from fake_nvml import FakeNvml
from frozen_monitor import NO_GPU, fixed_sources
from textual.pilot import Pilot

import magitui.screens.monitor.screen as monitor_module
from magitui.app import MagituiApp
from magitui.screens.monitor.cache_confirm import CacheDeleteConfirm
from magitui.screens.monitor.cache_table import MARK, MARKED, CacheTable
from magitui.screens.monitor.screen import MonitorScreen, MonitorSources
from magitui_core.machine.gpu import GpuSnapshot
from tests.ui.pilot_helpers import drive, notifications, screen_text, settle, wait_until


def use_sources(monkeypatch: pytest.MonkeyPatch, sources: MonitorSources) -> None:
    monkeypatch.setattr(monitor_module, "default_sources", lambda ctx: sources)


def monitor(pilot: Pilot[None]) -> MonitorScreen:
    screen = pilot.app.screen
    assert isinstance(screen, MonitorScreen), screen
    return screen


async def open_cache_tab(pilot: Pilot[None]) -> MonitorScreen:
    await pilot.press("m")
    await settle(pilot)
    await pilot.press("2")
    screen = monitor(pilot)
    await wait_until(pilot, lambda: screen.scan is not None, "the cache scan")
    await settle(pilot)
    return screen


async def cursor_to(pilot: Pilot[None], key: str) -> None:
    """Move the table cursor with the arrow keys until it is on ``key``."""
    table = pilot.app.screen.query_one(CacheTable)
    for _ in range(60):
        if table.selected_key == key:
            return
        await pilot.press("down")
    raise AssertionError(f"row {key} not reachable\n{screen_text(pilot.app)}")


def test_real_machine_panels(cache_env: Path) -> None:
    async def scenario(pilot: Pilot[None]) -> None:
        await pilot.press("m")
        await wait_until(pilot, lambda: "CPU" in screen_text(pilot.app), "the system panel")
        await wait_until(pilot, lambda: "HF_HOME" in screen_text(pilot.app), "the disk roles")
        text = screen_text(pilot.app)
        try:
            pynvml.nvmlInit()
            pynvml.nvmlShutdown()
        except pynvml.NVMLError:
            assert "No NVIDIA GPU found" in text

    drive(MagituiApp(), scenario)


def test_gpus_from_nvml_with_their_jobs(cache_env: Path, monkeypatch, jobs) -> None:  # type: ignore[no-untyped-def]
    job = jobs.start(["sleep", "60"], name="train", kind="train")
    assert job.status.child_pid is not None
    FakeNvml([job.status.child_pid, os.getpid()]).install(monkeypatch)

    async def scenario(pilot: Pilot[None]) -> None:
        await pilot.press("m")
        await wait_until(pilot, lambda: "H100" in screen_text(pilot.app), "the GPU panel")
        text = screen_text(pilot.app)
        assert "NVIDIA A100" in text and "L4" in text
        assert f"job {job.id}" in text
        assert "97%" in text and "61°C" in text and "312/700W" in text

    drive(MagituiApp(), scenario, size=(120, 40))


def test_a_stalled_nvml_call_freezes_nothing(cache_env: Path, monkeypatch, layout: Layout) -> None:  # type: ignore[no-untyped-def]
    release = threading.Event()

    def hanging_read() -> GpuSnapshot:
        release.wait(60)
        return NO_GPU

    use_sources(monkeypatch, fixed_sources(gpu_reader=hanging_read))

    async def scenario(pilot: Pilot[None]) -> None:
        await pilot.press("m")
        await wait_until(pilot, lambda: "load 1.25" in screen_text(pilot.app), "system figures")
        await wait_until(
            pilot, lambda: "NVML has not answered" in screen_text(pilot.app), "the stall notice"
        )
        screen = await open_cache_tab(pilot)  # the UI still answers keys and runs workers
        assert screen.scan is not None and screen.scan.hub.repo("model/org/alpha") is not None
        release.set()
        await pilot.press("1")
        await wait_until(
            pilot, lambda: "No NVIDIA GPU found" in screen_text(pilot.app), "NVML answering"
        )

    try:
        drive(MagituiApp(), scenario)
    finally:
        release.set()


def test_polling_pauses_while_a_dialog_is_open(cache_env: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    calls: list[int] = []
    sources = fixed_sources()
    read_system = sources.system
    sources.system = lambda: calls.append(1) or read_system()  # type: ignore[func-returns-value]
    use_sources(monkeypatch, sources)

    async def scenario(pilot: Pilot[None]) -> None:
        await pilot.press("m")
        await wait_until(pilot, lambda: len(calls) >= 2, "two polls")
        await pilot.press("question_mark")
        await settle(pilot)
        paused_at = len(calls)
        await pilot.pause(2.5)  # more than two poll periods
        assert len(calls) == paused_at
        await pilot.press("escape")
        await wait_until(pilot, lambda: len(calls) > paused_at, "polling to resume")

    drive(MagituiApp(), scenario)


def test_select_confirm_and_delete_a_detached_revision(layout: Layout) -> None:
    old = layout.revs["alpha_old"]
    snapshot = layout.alpha.path / "snapshots" / old

    async def scenario(pilot: Pilot[None]) -> None:
        screen = await open_cache_tab(pilot)
        assert screen.scan is not None
        before = screen.scan.hub.size_on_disk
        await cursor_to(pilot, f"rev:{old}")
        await pilot.press("space")
        await wait_until(
            pilot, lambda: "1 selected · frees ≈ 12.0K" in screen_text(pilot.app), "the total"
        )
        # First time: the dialog lists exactly what goes, and Enter answers its default, No.
        await pilot.press("x")
        await wait_until(
            pilot, lambda: isinstance(pilot.app.screen, CacheDeleteConfirm), "the confirmation"
        )
        dialog = pilot.app.screen
        assert isinstance(dialog, CacheDeleteConfirm)
        assert [item.key for item in dialog.plan.items] == [f"model/org/alpha@{old}"]
        text = screen_text(pilot.app)
        assert f"model/org/alpha revision {old[:12]} (detached)" in text
        assert "12.0K will be freed" in text
        await pilot.press("enter")
        await wait_until(pilot, lambda: pilot.app.screen is screen, "the dialog to close")
        assert snapshot.exists()
        assert any(message == "Nothing deleted." for _s, _t, message in notifications(pilot.app))
        # Second time: yes.
        await pilot.press("x")
        await wait_until(
            pilot, lambda: isinstance(pilot.app.screen, CacheDeleteConfirm), "the confirmation"
        )
        await pilot.press("y")
        await wait_until(
            pilot,
            lambda: f"rev:{old}" not in screen.query_one(CacheTable),
            "the table to refresh",
        )
        assert not snapshot.exists()
        assert screen.scan is not None and screen.scan.hub.size_on_disk == before - 12_000
        assert not screen.selection
        assert any("Freed 12.0K (expected 12.0K)" in n[2] for n in notifications(pilot.app))
        assert "2 revs" not in screen_text(pilot.app).split("org/alpha")[1].splitlines()[0]

    drive(MagituiApp(), scenario)


def test_deleting_a_repo_with_a_link_out_keeps_the_target(layout: Layout) -> None:
    async def scenario(pilot: Pilot[None]) -> None:
        screen = await open_cache_tab(pilot)
        await cursor_to(pilot, "repo:model/org/beta")
        await pilot.press("space")
        # Both revisions are marked with the repo.
        table = screen.query_one(CacheTable)
        for rev in (layout.revs["beta_main"], layout.revs["beta_old"]):
            assert table.cells(f"rev:{rev}")["mark"] == (MARK, MARKED)
        # Unselecting one revision keeps the other selected.
        await cursor_to(pilot, f"rev:{layout.revs['beta_main']}")
        await pilot.press("space")
        assert screen.selection.revisions == {layout.revs["beta_old"]}
        await pilot.press("space")
        assert screen.selection.repos == {"model/org/beta"}
        await pilot.press("x")
        await wait_until(
            pilot, lambda: isinstance(pilot.app.screen, CacheDeleteConfirm), "the confirmation"
        )
        assert "outside the cache" in screen_text(pilot.app)
        await pilot.press("y")
        await wait_until(pilot, lambda: "repo:model/org/beta" not in table, "the table to refresh")

    drive(MagituiApp(), scenario)
    assert not layout.beta.path.exists()
    assert layout.outside_file.read_bytes() == b"o" * 5000


def test_a_model_in_use_is_refused_in_the_ui(layout: Layout, jobs) -> None:  # type: ignore[no-untyped-def]
    job = jobs.start(
        [sys.executable, "-c", "import time; time.sleep(60)", "--model", "org/alpha"],
        kind="serve",
        name="serve alpha",
    )

    async def scenario(pilot: Pilot[None]) -> None:
        screen = await open_cache_tab(pilot)
        await cursor_to(pilot, "repo:model/org/alpha")
        await pilot.press("space", "x")
        await wait_until(
            pilot,
            lambda: any(t == "Nothing deleted: in use" for _s, t, _m in notifications(pilot.app)),
            "the refusal",
        )
        [message] = [m for _s, t, m in notifications(pilot.app) if t == "Nothing deleted: in use"]
        assert f"job {job.id}" in message
        assert pilot.app.screen is screen  # no confirmation offered

    drive(MagituiApp(), scenario)
    assert layout.alpha.path.exists()


def test_sorting_keeps_revisions_under_their_repo(layout: Layout) -> None:
    async def scenario(pilot: Pilot[None]) -> None:
        screen = await open_cache_tab(pilot)
        table = screen.query_one(CacheTable)
        assert table.keys[0] == "repo:model/org/alpha"  # biggest first
        await pilot.press("o", "o")  # accessed, then name
        assert "by name" in screen_text(pilot.app)
        names = [key for key in table.keys if key.startswith("repo:")]
        assert names == ["repo:model/org/alpha", "repo:model/org/beta", "repo:dataset/org/data"]
        alpha = table.keys.index("repo:model/org/alpha")
        assert {table.keys[alpha + 1], table.keys[alpha + 2]} == {
            f"rev:{layout.revs['alpha_main']}",
            f"rev:{layout.revs['alpha_old']}",
        }
        await pilot.press("o")  # type
        assert table.keys[0].startswith("extra:corrupted/")

    drive(MagituiApp(), scenario)


def test_at_80_columns_the_table_shows_name_size_and_last_used(layout: Layout) -> None:
    long_name = RepoBuilder(layout.hub, "model", "deepseek-ai/deepseek-coder-6.7b-instruct-v1.5")
    long_name.revision("main", {"config.json": b"{}"}, ("main",))

    async def scenario(pilot: Pilot[None]) -> None:
        screen = await open_cache_tab(pilot)
        table = screen.query_one(CacheTable)
        shown = [column.key for column in table.columns]
        assert shown == ["mark", "type", "name", "size", "used"]  # refs wait for 90 wide
        assert table.max_scroll_x == 0  # nothing pushed off to the right
        text = screen_text(pilot.app)
        assert "Last used" in text and "org/alpha" in text
        assert "…epseek-coder-6.7b-instruct-v1.5" in text  # a long name keeps its end
        await pilot.resize_terminal(120, 30)
        await settle(pilot)
        assert [column.key for column in table.columns][-3:] == ["refs", "size", "used"]

    drive(MagituiApp(), scenario)
