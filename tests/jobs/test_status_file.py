"""status.json as read and written: fields checked, unknown keys kept, bad files named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from magitui_core.jobs.manager import JobError, JobManager
from magitui_core.jobs.status import STATUS_FILE, JobState, JobStatus
from tests.jobs.test_jobs import wait_for


def finished_job(jobs: JobManager) -> Path:
    """A job whose supervisor is done with its status file, free to be tampered with."""
    job = jobs.start(["sh", "-c", "exit 0"], name="hello")
    wait_for(lambda: jobs.get(job.id).state.is_final)
    return job.dir


def test_a_job_status_round_trips_with_keys_from_a_newer_version(jobs: JobManager) -> None:
    job_dir = finished_job(jobs)
    path = job_dir / STATUS_FILE
    data = json.loads(path.read_text())
    data["gpu_hours"] = 1.5  # a field this version does not know
    path.write_text(json.dumps(data))
    status = JobStatus.read(job_dir)
    assert status.extra == {"gpu_hours": 1.5}
    status.updated(exit_code=0, state=JobState.SUCCEEDED).write(job_dir)
    again = json.loads(path.read_text())
    assert again["gpu_hours"] == 1.5 and again["state"] == "succeeded" and again["exit_code"] == 0
    assert set(data) <= set(again)


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"pid": "12"}, "pid = '12'"),
        ({"pid": True}, "pid = True"),
        ({"created_at": None}, "created_at = None"),
        ({"command": ["python", 3]}, "command must be a list of strings"),
        ({"state": "exploded"}, "'exploded' is not a valid JobState"),
    ],
)
def test_a_bad_field_is_named(jobs: JobManager, change: dict[str, object], named: str) -> None:
    job_dir = finished_job(jobs)
    path = job_dir / STATUS_FILE
    path.write_text(json.dumps({**json.loads(path.read_text()), **change}))
    with pytest.raises(ValueError, match=named.replace("(", r"\(").replace("[", r"\[")):
        JobStatus.read(job_dir)
    # The job list skips it; asking for it by name says what to do.
    assert job_dir.name not in [j.id for j in jobs.list_jobs()]
    with pytest.raises(JobError, match=f"magitui jobs rm {job_dir.name}"):
        jobs.get(job_dir.name)


def test_a_missing_field_or_a_torn_file_is_reported(tmp_path: Path) -> None:
    (tmp_path / STATUS_FILE).write_text(json.dumps({"id": "x", "name": "x"}))
    with pytest.raises(ValueError, match="lacks command, cwd, host, created_at"):
        JobStatus.read(tmp_path)
    (tmp_path / STATUS_FILE).write_text('{"id": "x", "na')
    with pytest.raises(ValueError):
        JobStatus.read(tmp_path)
    (tmp_path / STATUS_FILE).write_text("[1, 2]")
    with pytest.raises(ValueError, match="a JSON object, not list"):
        JobStatus.read(tmp_path)


def test_every_field_of_the_status_is_checked_and_written() -> None:
    """The JSON types table and the dataclass name the same fields, so none is dropped."""
    from dataclasses import fields

    from magitui_core.jobs.status import _FIELDS, _REQUIRED

    assert set(_FIELDS) == {f.name for f in fields(JobStatus)} - {"extra"}
    assert _REQUIRED == ("id", "name", "command", "cwd", "host", "created_at")
