"""The Demo screen at 80x24: recorded demo events replayed by a real job process (stages tick,
details show, a failure is named), and (slow) a real demo job followed from the first stage to
the Chat pane talking to the served model."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from textual.pilot import Pilot

from magitui.app import MagituiApp
from magitui.screens.chat.screen import ChatScreen
from magitui.screens.demo import DemoScreen
from magitui_core.context import open_context
from magitui_core.demo.tour import JOB_KIND, RUN_NAME, start_or_attach, stop_live_jobs
from magitui_core.jobs.manager import JobManager
from tests.ui.pilot_helpers import drive, screen_text, settle, wait_until

# What a demo job wrote, trimmed: three stages done, generation under way, then a failure.
RECORDED = [
    {"type": "progress", "stage": "model", "state": "started", "message": "building"},
    {"type": "progress", "stage": "model", "state": "done", "seconds": 4.67, "message": "built"},
    {"type": "progress", "stage": "teacher", "state": "started", "message": "starting"},
    {"type": "progress", "stage": "teacher", "state": "done", "seconds": 0.64, "message": "up"},
    {"type": "progress", "stage": "generate", "state": "started", "message": "40 samples"},
    {"type": "log", "stage": "generate", "message": "23/40 answered · 21 kept · 2 rejected"},
]
FAILURE = [{"type": "error", "stage": "generate", "message": "the generate job crashed (exit 1)"}]

# A real job that writes the recorded events, waits for the test's go-ahead, then fails.
REPLAY = """
import json, os, sys, time
from magitui_core.jobs.events import EventWriter
writer = EventWriter.for_current_job()
for event in json.loads(sys.argv[1]):
    writer.emit(event.pop("type"), **event)
while not os.path.exists(sys.argv[3]):
    time.sleep(0.05)
for event in json.loads(sys.argv[2]):
    writer.emit(event.pop("type"), **event)
sys.exit(1)
"""


def replay_job(jobs: JobManager, go: Path) -> str:
    jobs.workspace.create_run(RUN_NAME)
    command = [sys.executable, "-c", REPLAY, json.dumps(RECORDED), json.dumps(FAILURE), str(go)]
    return jobs.start(command, name="demo", kind=JOB_KIND, run=RUN_NAME).id


def test_stages_show_live_then_the_failure(jobs: JobManager, isolated: Path) -> None:
    go = isolated / "go"
    job_id = replay_job(jobs, go)
    app = MagituiApp(context=open_context(), demo_job=job_id)

    async def scenario(pilot: Pilot[None]) -> None:
        assert isinstance(pilot.app.screen, DemoScreen)
        await wait_until(pilot, lambda: "23/40 answered" in screen_text(pilot.app), "progress")
        text = screen_text(pilot.app)
        assert "✓ 1 Build a tiny model" in text and "4.7s" in text
        assert "✓ 2 Start the teacher stand-in" in text and "0.6s" in text
        assert "● 3 Generate (OSS-Instruct)" in text and "· 6 Serve the result" in text
        assert "NOT an LLM" in text and "stand-in, not an LLM" in text
        assert "Now: Generate (OSS-Instruct)" in text
        assert all(len(line) <= 80 for line in text.splitlines())
        # A section key leaves the tour; u comes back to it.
        await pilot.press("t")
        await settle(pilot)
        assert not isinstance(pilot.app.screen, DemoScreen)
        await pilot.press("u")
        await settle(pilot)
        assert isinstance(pilot.app.screen, DemoScreen)
        assert pilot.app.screen.check_action("open_chat", ()) is False  # nothing served yet

        # `magitui demo` run again meanwhile re-attaches to the running tour.
        again, attached = start_or_attach(jobs, jobs.workspace.root)
        assert attached and again.id == job_id

        go.touch()
        await wait_until(pilot, lambda: "The demo stopped" in screen_text(pilot.app), "failure")
        text = screen_text(pilot.app)
        assert "✗ 3 Generate (OSS-Instruct)" in text and "crashed (exit 1)" in text

    drive(app, scenario)


@pytest.mark.slow
def test_a_real_demo_ends_in_the_chat_with_the_served_model(jobs: JobManager) -> None:
    root = jobs.workspace.root
    job, attached = start_or_attach(jobs, root)
    assert not attached
    app = MagituiApp(context=open_context(), demo_job=job.id)

    async def scenario(pilot: Pilot[None]) -> None:
        def chatting() -> bool:
            screen = pilot.app.screen
            return isinstance(screen, ChatScreen) and bool(screen.pane.a.model)

        await wait_until(pilot, chatting, "the chat on the served model", timeout=400)
        await settle(pilot)  # the endpoints it finds afterwards must not replace the choice
        chat = pilot.app.screen
        assert isinstance(chat, ChatScreen)
        final = str(root / "runs" / RUN_NAME / "checkpoints" / "final")
        assert chat.pane.a.model == final and chat.pane.a.base_url.startswith("http://127.0.0.1:")
        await pilot.press("u")
        await settle(pilot)
        text = screen_text(pilot.app)
        assert text.count("✓") == 6 and "Done:" in text and "quitting (q) stops it" in text
        assert "total" in text

    try:
        drive(app, scenario)
        # Opening the tour again re-attaches to it while its model is served.
        again, attached = start_or_attach(jobs, root)
        assert attached and again.id == job.id
    finally:
        stop_live_jobs(jobs)
