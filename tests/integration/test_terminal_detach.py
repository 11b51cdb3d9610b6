"""A job started from a real terminal outlives that terminal (tmux killed = SIGHUP to its shell)."""

from __future__ import annotations

import shlex
import time
from pathlib import Path

import psutil

from magitui_core.context import open_context
from magitui_core.jobs.status import JobState
from tests.conftest import magitui_cmd
from tests.tmux_session import TmuxSession


def shell_alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_job_started_in_tmux_survives_the_terminal(isolated: Path) -> None:
    id_file = isolated / "job-id"
    start = shlex.join([*magitui_cmd(), "jobs", "start", "--name", "tmuxjob", "--", "sleep", "300"])
    with TmuxSession(["bash", "--norc", "--noprofile"]) as terminal:
        terminal.send(f"{start} > {id_file}; echo started-$((40+2))", "Enter")
        terminal.wait_for("started-42")
        shell_pid = terminal.pane_pid()
    # The terminal and its shell are gone…
    deadline = time.monotonic() + 5
    while shell_alive(shell_pid):
        assert time.monotonic() < deadline, "the shell outlived its terminal"
        time.sleep(0.05)
    # …and the job is not.
    jobs = open_context().jobs
    job_id = id_file.read_text().strip()
    job = jobs.get(job_id)
    assert job.state is JobState.RUNNING
    stopped = jobs.stop(job_id, grace=2)
    assert stopped.state is JobState.STOPPED
