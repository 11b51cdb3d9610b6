"""Screenshots of every screen at 80x24 and 120x40, and Home in each theme.

The workspace, config path, clock zone and job times are fixed (see
snapshot_data.py), so the pictures only change when the UI does. After an
intended change: pytest tests/ui --snapshot-update, then look at the report.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pilot_helpers import settle
from textual.pilot import Pilot

from magitui.app import MagituiApp
from magitui.sections import SECTIONS

SIZES = {"80x24": (80, 24), "120x40": (120, 40)}


def _go_to(key: str):  # type: ignore[no-untyped-def]
    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        if key:
            await pilot.press(key)
        await settle(pilot)

    return run_before


@pytest.mark.parametrize("size", SIZES, ids=str)
@pytest.mark.parametrize("section", SECTIONS, ids=lambda s: s.mode)
def test_screen(section, size: str, snapshot_workspace: Path, snap_compare) -> None:  # type: ignore[no-untyped-def]
    key = "" if section.mode == "home" else section.key
    assert snap_compare(MagituiApp(), terminal_size=SIZES[size], run_before=_go_to(key))


@pytest.mark.parametrize("theme", ["magitui-light", "magitui-high-contrast"])
def test_home_in_theme(theme: str, snapshot_workspace: Path, snap_compare) -> None:  # type: ignore[no-untyped-def]
    config = Path("/tmp/magitui-snapshot-config/config.toml")
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(f'[ui]\ntheme = "{theme}"\n', encoding="utf-8")
    assert snap_compare(MagituiApp(), terminal_size=(80, 24), run_before=_go_to(""))


def test_failed_job_detail(snapshot_workspace: Path, snap_compare) -> None:  # type: ignore[no-untyped-def]
    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("enter")  # the newest job: the failed training run
        await settle(pilot)

    assert snap_compare(MagituiApp(), terminal_size=(80, 24), run_before=run_before)


def test_help(snapshot_workspace: Path, snap_compare) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(MagituiApp(), terminal_size=(80, 24), run_before=_go_to("question_mark"))


def test_delete_confirmation(snapshot_workspace: Path, snap_compare) -> None:  # type: ignore[no-untyped-def]
    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("shift+tab", "x")  # to the runs table, then Delete
        await settle(pilot)

    assert snap_compare(MagituiApp(), terminal_size=(80, 24), run_before=run_before)


def test_setup_multi_node_problem(snapshot_workspace: Path, snap_compare) -> None:  # type: ignore[no-untyped-def]
    """Setup step 3 at 80x24 with every multi-node question shown (the launcher among them)
    and a bad port: the problems line stays in view under the form."""
    from textual.widgets import Input, Tabs

    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        pilot.app.screen.query_one(Tabs).focus()
        await pilot.press("3")
        await settle(pilot)
        for cid, text in (
            ("#ans-num-machines", "2"),
            ("#ans-main-process-ip", "10.0.0.2"),
            ("#ans-main-process-port", "70000"),
        ):
            pilot.app.screen.query_one(cid, Input).value = text
            await settle(pilot)
        pilot.app.screen.query_one("#ans-main-process-port", Input).focus()
        await settle(pilot)

    assert snap_compare(MagituiApp(), terminal_size=(80, 24), run_before=run_before)


def test_new_training_form(snapshot_workspace: Path, snap_compare) -> None:  # type: ignore[no-untyped-def]
    """Train › n at 80x24: every field of the form in view, the recipe's values dimmed."""

    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("t")
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)

    assert snap_compare(MagituiApp(), terminal_size=(80, 24), run_before=run_before)


def test_curate_form(snapshot_workspace: Path, snap_compare) -> None:  # type: ignore[no-untyped-def]
    """Data › p at 80x24: the output name and the recipe's options."""
    data = snapshot_workspace / "runs" / "llama-oss-1" / "data"
    data.mkdir(parents=True, exist_ok=True)
    (data / "generated.jsonl").write_text(
        '{"seed": "s", "problem": "Write add", "solution": "def add(a, b):\\n    return a + b"}\n'
    )

    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("d")
        await settle(pilot)
        await pilot.press("p")
        await settle(pilot)

    assert snap_compare(MagituiApp(), terminal_size=(80, 24), run_before=run_before)


def test_serve_dialog(snapshot_workspace: Path, snap_compare) -> None:  # type: ignore[no-untyped-def]
    """Chat › v at 80x24: the model to serve and the engine."""

    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("c")
        await settle(pilot)
        await pilot.press("v")
        await settle(pilot)

    assert snap_compare(MagituiApp(), terminal_size=(80, 24), run_before=run_before)
