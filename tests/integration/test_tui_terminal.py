"""The app in a real terminal (tmux): every screen by key, themes, and jobs that outlive the app."""

from __future__ import annotations

import collections
import re
import time
from pathlib import Path

import psutil
import pytest

from magitui_core.context import open_context
from magitui_core.jobs.status import JobState
from magitui_core.jobs.supervisor import wait_group_empty
from tests.conftest import magitui_cmd
from tests.tmux_session import TmuxSession

SECTIONS = [
    ("s", "Setup"),
    ("g", "Generate"),
    ("d", "Data"),
    ("t", "Train"),
    ("m", "Monitor"),
    ("c", "Chat"),
    ("h", "Home"),
]


def app_pid(terminal: TmuxSession) -> int:
    pane = psutil.Process(terminal.pane_pid())
    for proc in [pane, *pane.children(recursive=True)]:
        if "magitui" in " ".join(proc.cmdline()):
            return proc.pid
    raise AssertionError("no magitui process in the terminal")


def tour(terminal: TmuxSession) -> None:
    terminal.wait_for("magitui › Home")
    for key, title in SECTIONS:
        terminal.send(key)
        screen = terminal.wait_for(f"magitui › {title}")
        assert "Traceback" not in screen


def background_cells(terminal: TmuxSession) -> collections.Counter[int]:
    """How many screen cells carry each 256-colour background (-1: the terminal's default)."""
    escaped = terminal._tmux("capture-pane", "-p", "-e", "-t", "main")
    cells: collections.Counter[int] = collections.Counter()
    background = -1
    for sgr, text in re.findall(r"\x1b\[([0-9;]*)m|([^\x1b\n]+)", escaped):
        if text:
            cells[background] += len(text)
            continue
        params = sgr.split(";") if sgr else ["0"]
        i = 0
        while i < len(params):
            if params[i] in ("0", "49"):
                background = -1
            elif params[i] == "48" and i + 2 < len(params) and params[i + 1] == "5":
                background = int(params[i + 2])
                i += 2
            elif params[i] in ("38",) and i + 1 < len(params) and params[i + 1] == "5":
                i += 2
            i += 1
    return cells


def luminance(index: int) -> float:
    """0 (black) … 1 (white) for an xterm 256-colour index."""
    if index >= 232:
        return (8 + 10 * (index - 232)) / 255
    if index >= 16:
        r, g, b = (index - 16) // 36, (index - 16) // 6 % 6, (index - 16) % 6
        level = [0, 95, 135, 175, 215, 255]
        return (0.2126 * level[r] + 0.7152 * level[g] + 0.0722 * level[b]) / 255
    return 1.0 if index in (7, 15) else 0.0


def background_luminance(terminal: TmuxSession) -> float:
    """Luminance of the background that covers most of the screen."""
    cells = background_cells(terminal)
    cells.pop(-1, None)  # cells left at the terminal default say nothing about the theme
    return luminance(cells.most_common(1)[0][0])


def test_every_screen_by_key_at_80x24(isolated: Path) -> None:
    with TmuxSession(magitui_cmd(), 80, 24) as terminal:
        tour(terminal)
        screen = terminal.capture()
        assert "No jobs yet" in screen  # an empty workspace says what to do
        assert background_luminance(terminal) < 0.3  # the dark default theme
        terminal.send("q")
        deadline = time.monotonic() + 10
        while terminal.alive():
            assert time.monotonic() < deadline, "q did not quit"
            time.sleep(0.05)


@pytest.mark.parametrize("theme", ["magitui-light", "magitui-high-contrast"])
def test_every_screen_at_120x40_in_other_themes(isolated: Path, theme: str) -> None:
    config = isolated / "config" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(f'[ui]\ntheme = "{theme}"\n')
    with TmuxSession(magitui_cmd(), 120, 40) as terminal:
        tour(terminal)
        luminance = background_luminance(terminal)
        assert luminance > 0.7 if theme == "magitui-light" else luminance < 0.1


def test_jobs_outlive_the_app_and_stop_from_it(isolated: Path) -> None:
    jobs = open_context().jobs
    job = jobs.start(["sh", "-c", "while true; do echo alive; sleep 0.2; done"], name="keeper")
    try:
        with TmuxSession(magitui_cmd(), 80, 24) as terminal:
            terminal.wait_for("● running")
            psutil.Process(app_pid(terminal)).kill()  # the app crashes hard
            deadline = time.monotonic() + 10
            while terminal.alive():
                assert time.monotonic() < deadline
                time.sleep(0.05)
        assert jobs.get(job.id).state is JobState.RUNNING
        # Reopen: the app re-attaches from the job's files and can stop it.
        with TmuxSession(magitui_cmd(), 80, 24) as terminal:
            screen = terminal.wait_for("● running")
            assert job.id in screen
            terminal.send("k")
            terminal.wait_for(f"Stop job {job.id}")
            terminal.send("y")
            terminal.wait_for("stopped")
        stopped = jobs.get(job.id)
        assert stopped.state is JobState.STOPPED
        # The screen can show "stopped" as the supervisor records it, just before it exits.
        assert wait_group_empty(job.status.pgid, timeout=5)
    finally:
        if jobs.get(job.id).is_live:
            jobs.stop(job.id, grace=1)
