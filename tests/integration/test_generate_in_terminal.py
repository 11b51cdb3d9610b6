"""A user's generation run in a real terminal: started from the Generate screen, it keeps
running when the app is killed, the reopened app shows it progressing, and stopping it from
the app leaves no process behind."""

from __future__ import annotations

import time
from pathlib import Path

import psutil
import pytest

from magitui_core.context import open_context
from magitui_core.jobs.events import read_events
from magitui_core.jobs.supervisor import wait_group_empty
from tests.conftest import magitui_cmd
from tests.generation.teacher_server import Script, TeacherServer
from tests.integration.test_tui_terminal import app_pid
from tests.tmux_session import TmuxSession

pytestmark = pytest.mark.slow


def done_so_far(events_path: Path) -> int:
    progress = [e for e in read_events(events_path) if e["type"] == "progress"]
    return int(progress[-1].get("done", 0)) if progress else 0


def test_generation_survives_the_app_and_stops_from_it(isolated: Path) -> None:
    seeds = isolated / "seeds"
    seeds.mkdir()
    for i in range(4):
        (seeds / f"m{i}.py").write_text("".join(f"x_{i}_{j} = {j}\n" for j in range(20)))
    # Slow on purpose (2 answers at a time, 0.5 s each), so the run outlasts the app.
    with TeacherServer(Script(model="teacher-model", latency=0.5, capacity=2)) as teacher:
        config = isolated / "config" / "config.toml"
        config.parent.mkdir(parents=True)
        config.write_text(f'[teacher]\nbase_url = "{teacher.base_url}"\nmodel = "teacher-model"\n')
        with TmuxSession(magitui_cmd(), 100, 30) as terminal:
            terminal.wait_for("magitui › Home")
            terminal.send("g")
            terminal.wait_for("Test endpoint")
            time.sleep(1.0)  # the form is drawn before focus settles on the tabs
            # Focus starts on the tabs; then endpoint, model, seeds. Endpoint and model
            # come from [teacher] in the config. A field's text is selected when it gets
            # focus, so typing replaces it.
            for key in ("Tab", "Tab", "Tab"):
                terminal.send(key)
                time.sleep(0.2)
            terminal.send("-l", str(seeds))
            time.sleep(0.2)
            terminal.send("Tab")
            time.sleep(0.2)
            terminal.send("-l", "300")
            terminal.wait_for(str(seeds))
            terminal.send("C-r")
            jobs = open_context().jobs
            deadline = time.monotonic() + 30
            while not [j for j in jobs.list_jobs() if j.status.kind == "generate"]:
                assert time.monotonic() < deadline, terminal.capture()
                time.sleep(0.2)
            (job,) = [j for j in jobs.list_jobs() if j.status.kind == "generate"]
            terminal.send("Escape")
            terminal.wait_for("● running")
            psutil.Process(app_pid(terminal)).kill()  # the app dies; the job must not
        try:
            assert jobs.get(job.id).is_live
            before = done_so_far(job.events_path)
            with TmuxSession(magitui_cmd(), 100, 30) as terminal:
                screen = terminal.wait_for("● running")
                assert job.id in screen
                terminal.send("g")
                terminal.wait_for("magitui › Generate")
                time.sleep(3)
                assert done_so_far(job.events_path) > before  # still progressing
                terminal.send("Escape")
                terminal.wait_for("magitui › Home")
                terminal.send("k")
                terminal.wait_for(f"Stop job {job.id}")
                terminal.send("y")
                terminal.wait_for("stopped", timeout=30)
            assert jobs.get(job.id).state.value == "stopped"
            assert wait_group_empty(job.status.pgid, timeout=5)
        finally:
            if jobs.get(job.id).is_live:
                jobs.stop(job.id, grace=2)
