"""One writer per generation output, and a disk that fills mid-run: no duplicates, no
tracebacks, nothing paid for and thrown away, and a rerun that completes exactly once."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from magitui_core.jobs.locks import OutputLock, OutputLocked, holder_of
from magitui_core.jobs.manager import JobManager
from tests.generation.conftest import read_jsonl, write_seed_lines
from tests.generation.teacher_server import TeacherServer
from tests.generation.test_generation import assert_exactly_once, generate_cmd


def wait_for(predicate: Callable[[], object], timeout: float = 60) -> object:
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
    return value


def test_the_lock_names_its_holder_and_dies_with_it(tmp_path: Path) -> None:
    target = tmp_path / "gen.jsonl"
    code = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from magitui_core.jobs.locks import OutputLock\n"
        f"OutputLock(Path({str(target)!r})).acquire()\n"
        "print('locked', flush=True)\n"
        "time.sleep(60)\n"
    )
    holder = subprocess.Popen(
        ["python", "-c", code], stdout=subprocess.PIPE, text=True, env={**os.environ}
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        found = holder_of(target)
        assert found is not None and found["pid"] == holder.pid
        with pytest.raises(OutputLocked, match=rf"another magitui is writing .*pid {holder.pid}"):
            OutputLock(target).acquire()
        holder.send_signal(signal.SIGKILL)  # no clean-up at all: the kernel drops the lock
        holder.wait()
        assert (tmp_path / ".gen.jsonl.lock").exists()  # left by the crash, reused now
        with OutputLock(target) as lock:
            assert lock.held
        assert holder_of(target) is None
        assert not (tmp_path / ".gen.jsonl.lock").exists()  # a clean release leaves nothing
    finally:
        with contextlib.suppress(ProcessLookupError):
            holder.kill()
        holder.wait()


def test_a_second_writer_is_refused_even_after_its_supervisor_crashed(
    isolated: Path, teacher: Callable[..., TeacherServer], tmp_path: Path, jobs: JobManager
) -> None:
    server = teacher(latency=0.3, capacity=2)
    seeds = write_seed_lines(tmp_path / "seeds.jsonl", [f"v_{i} = {i}" for i in range(200)])
    out = tmp_path / "gen.jsonl"
    started = subprocess.run(
        generate_cmd(server, seeds, out, "--count", "200", "--detach"),
        capture_output=True,
        text=True,
    )
    assert started.returncode == 0, started.stderr
    job = jobs.get(started.stdout.strip())
    wait_for(lambda: out.exists() and out.stat().st_size > 0)
    # Two writers on one output would duplicate every index: the second is refused at once.
    second = subprocess.run(
        generate_cmd(server, seeds, out, "--count", "200"), capture_output=True, text=True
    )
    assert second.returncode != 0
    assert f"another magitui is writing {out}" in second.stderr
    assert f"job {job.id}" in second.stderr and f"magitui jobs stop {job.id}" in second.stderr
    assert "Traceback" not in second.stderr
    detached = subprocess.run(
        generate_cmd(server, seeds, out, "--count", "200", "--detach"),
        capture_output=True,
        text=True,
    )
    assert detached.returncode != 0 and f"magitui jobs stop {job.id}" in detached.stderr
    assert len(jobs.list_jobs()) == 1  # refused before a job was made
    # The README's recovery path: kill -9 the supervisor; its command still runs and still
    # holds the output, so a rerun is refused until that command ends.
    supervisor = psutil.Process(jobs.get(job.id).status.pid)
    supervisor.kill()
    supervisor.wait(10)
    wait_for(lambda: jobs.get(job.id).state.value == "crashed")
    again = subprocess.run(
        generate_cmd(server, seeds, out, "--count", "200"), capture_output=True, text=True
    )
    assert again.returncode != 0 and "another magitui is writing" in again.stderr
    jobs.stop(job.id, grace=2)  # ends the orphaned command: the lock goes with it
    finished = subprocess.run(
        generate_cmd(server, seeds, out, "--count", "200", "--concurrency", "32"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert finished.returncode == 0, finished.stderr
    assert_exactly_once(out, 0, 200)


def test_a_disk_that_fills_mid_generation(
    isolated: Path, teacher: Callable[..., TeacherServer], tmp_path: Path, small_disk: Path
) -> None:
    server = teacher(latency=0.02)
    lines = [f"w_{i} = '{'x' * 200}'" for i in range(600)]
    seeds = write_seed_lines(tmp_path / "seeds.jsonl", lines)
    out = small_disk / "gen.jsonl"
    command = generate_cmd(server, seeds, out, "--count", "600", "--concurrency", "8")
    # A first index builds the run's snippet table; then the disk is filled to ~48 KiB free.
    first = subprocess.run([*command[:-4], "--count", "1"], capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    stats = os.statvfs(small_disk)
    filler = small_disk / "filler.bin"
    filler.write_bytes(b"\0" * (stats.f_bavail * stats.f_frsize - 48 * 1024))
    server.record.completions = 0
    full = subprocess.run(command, capture_output=True, text=True, timeout=300)
    sent = server.record.completions
    assert full.returncode == 1, full.stderr
    assert f"disk full writing {out}" in full.stderr
    assert "bytes free on" in full.stderr and "free space and rerun the same command" in full.stderr
    assert "Traceback" not in full.stderr and "never retrieved" not in full.stderr
    kept = read_jsonl(out) + read_jsonl(small_disk / "gen.rejected.jsonl")  # whole lines only
    assert 1 < len(kept) < 600
    # It stopped sending at the first failed write: at most the requests then in flight.
    assert sent <= (len(kept) - 1) + 8 + 1
    filler.unlink()
    resumed = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert_exactly_once(out, 0, 600)
