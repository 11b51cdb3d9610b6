"""Detached jobs with real processes: start, survive, stop, crash detection."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import psutil
import pytest

from magitui_core.jobs.manager import JobError, JobManager
from magitui_core.jobs.status import JobState, JobStatus
from magitui_core.jobs.supervisor import group_members, wait_group_empty
from tests.fake_secrets import fake_hf_token, fake_openai_key

T = TypeVar("T")


def wait_for(predicate: Callable[[], T], timeout: float = 10.0, interval: float = 0.05) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {predicate}")


def test_job_runs_detached_and_records_success(jobs: JobManager) -> None:
    job = jobs.start(["sh", "-c", "echo out; echo err >&2; exit 0"], name="hello")
    assert job.state in (JobState.RUNNING, JobState.SUCCEEDED)
    done = wait_for(lambda: (j := jobs.get(job.id)).state.is_final and j)
    assert done.state is JobState.SUCCEEDED
    assert done.status.exit_code == 0
    assert done.tail() == ["out", "err"]
    # The job is its own session: not in the test's session or process group.
    assert done.status.pgid != os.getpgid(0)
    events = [json.loads(line) for line in done.events_path.read_text().splitlines()]
    assert [e["type"] for e in events] == ["started", "exited"]
    assert events[-1]["state"] == "succeeded"


def test_failing_command_is_failed_with_exit_code(jobs: JobManager) -> None:
    job = jobs.start(["sh", "-c", "echo boom; exit 3"])
    done = wait_for(lambda: (j := jobs.get(job.id)).state.is_final and j)
    assert done.state is JobState.FAILED
    assert done.status.exit_code == 3


def test_failed_job_records_its_last_error_event(jobs: JobManager) -> None:
    """The job's own last word on why it failed lands in status.json for every job list."""
    script = textwrap.dedent(
        """
        from magitui_core.jobs.events import EventWriter
        writer = EventWriter.for_current_job()
        writer.emit("error", message="first problem")
        writer.emit("error", message="seed folder /nope does not exist")
        writer.emit("log", message="giving up")
        raise SystemExit(2)
        """
    )
    job = jobs.start([sys.executable, "-c", script])
    done = wait_for(lambda: (j := jobs.get(job.id)).state.is_final and j)
    assert done.state is JobState.FAILED and done.status.exit_code == 2
    assert done.status.error == "seed folder /nope does not exist"
    succeeded = jobs.start([sys.executable, "-c", script.replace("SystemExit(2)", "SystemExit(0)")])
    ok = wait_for(lambda: (j := jobs.get(succeeded.id)).state.is_final and j)
    assert ok.state is JobState.SUCCEEDED and ok.status.error is None


def test_missing_command_fails_with_a_clear_error(jobs: JobManager) -> None:
    job = jobs.start(["magitui-no-such-command", "--x"])
    assert job.state is JobState.FAILED
    assert job.status.error == "cannot start 'magitui-no-such-command': command not found"
    assert "command not found" in job.output_path.read_text()


def test_job_survives_its_launchers_exit_and_sighup(isolated: Path) -> None:
    """A launcher in its own session (like a login shell) starts a job, then gets SIGHUP."""
    script = textwrap.dedent(
        """
        import os, signal, sys
        from magitui_core.context import open_context
        job = open_context().jobs.start(["sleep", "60"], name="survivor")
        print(job.id, flush=True)
        os.killpg(os.getpgid(0), signal.SIGHUP)  # what a dropped SSH link does to its session
        """
    )
    launcher = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, start_new_session=True
    )
    assert launcher.returncode == -signal.SIGHUP, launcher.stderr
    job_id = launcher.stdout.strip()
    from magitui_core.context import open_context

    manager = open_context().jobs
    try:
        time.sleep(0.5)
        job = manager.get(job_id)
        assert job.state is JobState.RUNNING
        assert psutil.Process(job.status.child_pid).is_running()
    finally:
        stopped = manager.stop(job_id, grace=2)
    assert stopped.state is JobState.STOPPED


def test_stop_ends_the_whole_process_group(jobs: JobManager) -> None:
    job = jobs.start(["sh", "-c", "sleep 300 & sleep 300 & sleep 300; wait"], name="family")
    pgid = job.status.pgid
    assert pgid is not None
    members = wait_for(lambda: len(m := group_members(pgid)) >= 5 and m)  # supervisor, sh, 3 sleeps
    pids = [p.pid for p in members]
    stopped = jobs.stop(job.id, grace=5)
    assert stopped.state is JobState.STOPPED
    assert stopped.status.signal == "SIGTERM"
    assert group_members(pgid) == []
    assert not any(
        psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie" for pid in pids
    )


def test_stop_escalates_to_sigkill_after_grace(jobs: JobManager) -> None:
    job = jobs.start(["sh", "-c", "trap '' TERM; sleep 300 & wait; sleep 300"], name="stubborn")
    pgid = job.status.pgid
    wait_for(lambda: len(group_members(pgid)) >= 3)
    started = time.monotonic()
    stopped = jobs.stop(job.id, grace=1.0)
    assert time.monotonic() - started >= 1.0
    assert stopped.state is JobState.STOPPED
    assert stopped.status.signal == "SIGKILL"
    assert "grace" in (stopped.status.error or "")
    assert group_members(pgid) == []


def test_sigkilled_job_is_detected_as_crashed_with_its_last_lines(jobs: JobManager) -> None:
    job = jobs.start(["sh", "-c", "echo line1; echo line2; sleep 300"], name="victim")
    wait_for(lambda: jobs.get(job.id).tail() == ["line1", "line2"])
    os.killpg(job.status.pgid, signal.SIGKILL)
    crashed = wait_for(lambda: (j := jobs.get(job.id)).state is JobState.CRASHED and j)
    assert "vanished" in crashed.note
    assert crashed.tail() == ["line1", "line2"]
    # The file still says running: crash detection is from the processes, not the file.
    assert JobStatus.read(crashed.dir).state is JobState.RUNNING


def test_supervisor_killed_alone_leaves_a_crashed_job_that_stop_cleans_up(
    jobs: JobManager,
) -> None:
    job = jobs.start(["sleep", "300"], name="orphan")
    os.kill(job.status.pid, signal.SIGKILL)
    crashed = wait_for(lambda: (j := jobs.get(job.id)).state is JobState.CRASHED and j)
    assert f"command pid {job.status.child_pid} still running" in crashed.note
    # A crashed job's duration ends at its last sign of life, not at "now".
    first = crashed.duration()
    time.sleep(1.2)
    assert jobs.get(job.id).duration() == first
    after = jobs.stop(job.id, grace=2)
    assert after.state is JobState.CRASHED
    assert group_members(job.status.pgid) == []
    assert JobStatus.read(after.dir).state is JobState.CRASHED  # now recorded for good
    # sleep ends at SIGTERM: the record says so, not "killed with SIGKILL".
    assert after.status.signal == "SIGTERM"
    assert after.status.error is not None and "stopped with SIGTERM" in after.status.error
    assert "SIGKILL" not in after.status.error


def test_sigterm_to_the_supervisor_alone_stops_the_job(jobs: JobManager) -> None:
    job = jobs.start(["sleep", "300"], name="polite")
    os.kill(job.status.pid, signal.SIGTERM)
    done = wait_for(lambda: (j := jobs.get(job.id)).state.is_final and j)
    assert done.state is JobState.STOPPED
    # The supervisor records the end, then exits: the group empties a moment later.
    assert wait_group_empty(job.status.pgid, timeout=5)


def test_reused_pid_is_not_mistaken_for_a_live_job(jobs: JobManager) -> None:
    job = jobs.start(["sleep", "300"], name="reuse")
    jobs.stop(job.id, grace=1)
    # Forge a running status whose pid now belongs to another process (this test).
    status = JobStatus.read(job.dir).updated(
        state=JobState.RUNNING, pid=os.getpid(), pid_create_time=1.0, ended_at=None
    )
    status.write(job.dir)
    assert jobs.get(job.id).state is JobState.CRASHED


def test_a_job_ending_while_it_is_observed_is_not_called_crashed(
    jobs: JobManager, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The supervisor writes its final status and exits between the status being read and
    its pid being checked: the job ended, it did not crash."""
    from magitui_core.jobs import manager

    job = jobs.start(["true"], name="quick")
    wait_until_final = time.monotonic() + 10
    while not jobs.get(job.id).state.is_final:
        assert time.monotonic() < wait_until_final
        time.sleep(0.05)
    final = JobStatus.read(job.dir)
    final.updated(state=JobState.RUNNING, ended_at=None, exit_code=None).write(job.dir)

    def exits_right_after_writing(pid: int | None, create_time: float | None) -> bool:
        final.write(job.dir)  # the supervisor's last write, then it is gone
        return False

    monkeypatch.setattr(manager, "_pid_alive", exits_right_after_writing)
    assert jobs.get(job.id).state is JobState.SUCCEEDED


def test_job_events_from_the_command_and_its_environment(jobs: JobManager) -> None:
    code = textwrap.dedent(
        """
        import os
        from magitui_core.jobs.events import EventWriter
        w = EventWriter.for_current_job()
        w.emit("progress", done=1, total=2)
        w.emit("metric", loss=0.5)
        print(os.environ["MAGITUI_JOB_ID"])
        """
    )
    job = jobs.start([sys.executable, "-c", code], name="events", kind="generate")
    done = wait_for(lambda: (j := jobs.get(job.id)).state.is_final and j)
    assert done.state is JobState.SUCCEEDED, done.tail()
    types = [json.loads(line)["type"] for line in done.events_path.read_text().splitlines()]
    assert types == ["started", "progress", "metric", "exited"]
    assert done.tail() == [job.id]
    assert done.status.kind == "generate"


def test_secrets_reach_the_job_but_never_its_files(jobs: JobManager, isolated: Path) -> None:
    from magitui_core import credentials

    key = fake_openai_key("testkey0123456789abcdefXYZ")
    credentials.store("openai_api_key", key)
    code = "import os; print(len(os.environ.get('OPENAI_API_KEY', '')))"
    job = jobs.start([sys.executable, "-c", code, "--api-key", key], name="secretive")
    done = wait_for(lambda: (j := jobs.get(job.id)).state.is_final and j)
    assert done.tail() == [str(len(key))]  # the job got the key through its environment
    for name in ("status.json", "events.jsonl", "output.log"):
        assert key not in (done.dir / name).read_text()
    assert "--api-key" in done.status.command


def test_a_job_that_prints_its_environment_writes_no_secret(
    jobs: JobManager, isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`magitui jobs start -- env` with a stored HF token and a key in the environment: the
    supervisor owns the pipe and scrubs every secret value, even one split across writes."""
    from magitui_core import credentials

    token = fake_hf_token("storedtoken0123456789abcdefgh")
    key = fake_openai_key("fromtheenvironment0123456789ab")
    credentials.store("hf_token", token)
    monkeypatch.setenv("OPENAI_API_KEY", key)
    printed = jobs.start(["env"], name="env")
    code = textwrap.dedent(
        f"""
        import sys, time
        key = {key!r}
        sys.stdout.write("half: " + key[:9]); sys.stdout.flush(); time.sleep(0.05)
        sys.stdout.write(key[9:] + " and the rest\\n"); sys.stdout.flush()
        print("url: https://someone:hunter2-pass@example.invalid/repo.git")
        print("plain text stays plain")
        """
    )
    split = jobs.start([sys.executable, "-c", code], name="split")
    for job in (printed, split):
        done = wait_for(lambda job=job: (j := jobs.get(job.id)).state.is_final and j)
        assert done.state is JobState.SUCCEEDED, done.tail()
        log = (done.dir / "output.log").read_text()
        assert token not in log and key not in log, log
    env_log = (jobs.get(printed.id).dir / "output.log").read_text()
    assert f"HF_TOKEN={credentials.mask(token)}" in env_log  # it was given, and masked
    assert f"OPENAI_API_KEY={credentials.mask(key)}" in env_log
    assert jobs.get(split.id).tail() == [
        f"half: {credentials.mask(key)} and the rest",
        f"url: https://someone:{credentials.mask('hunter2-pass')}@example.invalid/repo.git",
        "plain text stays plain",
    ]


def test_secret_shaped_arguments_are_masked_in_status_and_events(jobs: JobManager) -> None:
    command = [
        "true",
        "--password",
        "correct-horse-battery",
        "--token=abcdefghijklmnop",
        "--client-secret",
        "s3cr3t-value-xyz",
        "https://user:pa55word-here@host.invalid/x",
        "--epochs",
        "2",
    ]
    job = jobs.start(command, name="argv")
    done = wait_for(lambda: (j := jobs.get(job.id)).state.is_final and j)
    stored = (done.dir / "status.json").read_text() + (done.dir / "events.jsonl").read_text()
    for secret in ("correct-horse-battery", "abcdefghijklmnop", "s3cr3t-value-xyz", "pa55word"):
        assert secret not in stored
    assert done.status.command[-2:] == ["--epochs", "2"]
    assert "https://user:" in " ".join(done.status.command)


def test_ids_resolve_by_unique_prefix(jobs: JobManager) -> None:
    a = jobs.start(["true"], name="alpha")
    b = jobs.start(["true"], name="alpine")
    assert jobs.get(a.id[:7]).id == a.id
    with pytest.raises(JobError, match="ambiguous"):
        jobs.get("alp")
    with pytest.raises(JobError, match="no job 'zzz'"):
        jobs.get("zzz")
    assert {j.id for j in jobs.list_jobs()} == {a.id, b.id}


def test_jobs_filed_under_a_run_block_its_rename_and_delete(jobs: JobManager) -> None:
    from magitui_core.workspace import WorkspaceError

    jobs.workspace.create_run("exp1")
    job = jobs.start(["sleep", "300"], name="busy", run="exp1")
    assert job.dir.parent == jobs.workspace.runs_dir / "exp1" / "jobs"
    with pytest.raises(WorkspaceError, match="stop them first"):
        jobs.workspace.delete_run("exp1", live_job_ids=jobs.live_in_run("exp1"))
    jobs.stop(job.id, grace=1)
    jobs.workspace.delete_run("exp1", live_job_ids=jobs.live_in_run("exp1"))
    assert not (jobs.workspace.runs_dir / "exp1").exists()


def test_unknown_run_is_refused(jobs: JobManager) -> None:
    with pytest.raises(JobError, match="no run named 'nope'"):
        jobs.start(["true"], run="nope")


def test_remove_refuses_live_jobs(jobs: JobManager) -> None:
    job = jobs.start(["sleep", "300"])
    with pytest.raises(JobError, match="stop it first"):
        jobs.remove(job.id)
    jobs.stop(job.id, grace=1)
    jobs.remove(job.id)
    assert not job.dir.exists()


def test_configured_hf_home_reaches_jobs_unless_the_environment_has_one(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from magitui_core.config import set_config_value
    from magitui_core.context import open_context

    set_config_value("huggingface.hf_home", str(isolated / "big-disk" / "hf"))
    monkeypatch.delenv("HF_HOME")
    manager = open_context().jobs
    code = "import os; print(os.environ['HF_HOME'])"
    job = manager.start([sys.executable, "-c", code])
    done = wait_for(lambda: (j := manager.get(job.id)).state.is_final and j)
    assert done.tail() == [str(isolated / "big-disk" / "hf")]
    monkeypatch.setenv("HF_HOME", "/from/env")
    job = manager.start([sys.executable, "-c", code])
    done = wait_for(lambda: (j := manager.get(job.id)).state.is_final and j)
    assert done.tail() == ["/from/env"]
