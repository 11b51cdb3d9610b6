"""A workspace on a full disk: one line instead of a traceback, nothing half-made left
behind, and a job whose output fills the disk ends with its real state and says why."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from magitui_core.jobs.events import EventWriter, read_events
from magitui_core.jobs.manager import JobManager
from magitui_core.jobs.status import JobState
from magitui_core.workspace import Workspace, WorkspaceError
from tests.conftest import magitui_cmd


def fill_up(folder: Path) -> Path:
    """Take every free byte (tmpfs allocates pages, so write until it refuses)."""
    filler = folder / "filler.bin"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError:
        pass
    finally:
        os.close(fd)
    return filler


def magitui(workspace: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MAGITUI_HOME": str(workspace)}
    return subprocess.run(
        [*magitui_cmd(), *args], capture_output=True, text=True, env=env, timeout=60
    )


def entries(workspace: Path) -> list[str]:
    return sorted(
        str(p.relative_to(workspace)) for p in workspace.rglob("*") if p.name != "filler.bin"
    )


@pytest.mark.disk_size("512k")
def test_a_full_workspace_refuses_in_one_line_and_leaves_nothing(
    isolated: Path, small_disk: Path
) -> None:
    workspace = small_disk / "ws"
    Workspace(workspace).ensure()
    filler = fill_up(small_disk)
    before = entries(workspace)
    for args, what in (
        (("jobs", "start", "--", "true"), "creating job"),
        (("runs", "create", "exp1"), "creating run"),
    ):
        result = magitui(workspace, *args)
        assert result.returncode != 0, args
        assert f"disk full {what}" in result.stderr and "bytes free on" in result.stderr
        assert "free space and try again" in result.stderr
        assert "Traceback" not in result.stderr, result.stderr
    assert entries(workspace) == before  # no half-made job or run folder
    filler.unlink()
    assert magitui(workspace, "runs", "create", "exp1").returncode == 0
    started = magitui(workspace, "jobs", "start", "--", "true")
    assert started.returncode == 0, started.stderr


def test_half_made_folders_can_be_removed(jobs: JobManager) -> None:
    """Folders cut short by an older magitui (or a crash): rm and delete handle them."""
    half_job = jobs.workspace.ensure().jobs_dir / "train-0a1b2c"
    half_job.mkdir()
    (half_job / "output.log").write_text("")
    jobs.remove("train-0a1b2c")
    assert not half_job.exists()
    half_run = jobs.workspace.runs_dir / "exp2"
    (half_run / "data").mkdir(parents=True)
    with pytest.raises(WorkspaceError, match=r"half-made run .* magitui runs delete exp2"):
        jobs.workspace.create_run("exp2")
    jobs.workspace.delete_run("exp2")
    jobs.workspace.create_run("exp2")


@pytest.mark.disk_size("512k")
def test_a_job_whose_output_fills_the_disk_says_so(
    isolated: Path, small_disk: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from magitui_core.context import open_context

    monkeypatch.setenv("MAGITUI_HOME", str(small_disk / "ws"))
    jobs = open_context().jobs
    code = "import sys\nfor i in range(20000):\n    print('line', i, 'x' * 100)\nprint('done')"
    job = jobs.start([sys.executable, "-c", code], name="chatty")
    deadline = time.monotonic() + 60
    while jobs.get(job.id).is_live:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    done = jobs.get(job.id)
    # The command itself succeeded: the job is not "crashed", and the full disk is named.
    assert done.state is JobState.SUCCEEDED, done.status
    assert done.status.error is not None and "disk full writing" in done.status.error
    assert "output after that was lost" in done.status.error


def test_an_event_after_a_torn_line_is_still_readable(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text('{"type":"progress","t":1}\n{"type":"progr')  # a writer killed mid-line
    with EventWriter(path) as writer:
        writer.emit("exited", state="failed")
    assert [event["type"] for event in read_events(path)][-1] == "exited"
