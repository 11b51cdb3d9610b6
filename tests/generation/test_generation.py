"""The generation end to end: real engine, real loopback teacher, real files and processes."""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from magitui_core.generation.engine import (
    PAUSE_MARKER,
    GenerationError,
    GenerationReporter,
    GenerationSettings,
    run_generation,
)
from magitui_core.generation.output import GenerationOutput, OutputError, repair_torn_tail
from magitui_core.generation.snippets import shuffled_order
from magitui_core.generation.token_budget import estimate_tokens
from magitui_core.jobs.events import read_events
from magitui_core.prompts import generation_prompt, load_generation_prompt
from tests.conftest import magitui_cmd
from tests.fake_secrets import fake_openai_key
from tests.generation.conftest import read_jsonl, write_seed_lines
from tests.generation.teacher_server import TeacherServer

MIXED = [f"total_{i} = {i} + 1" for i in range(16)] + [
    "MALFORMED answer please",
    "TRUNCATE the answer",
    "EMPTYSOL answer",
    "ALWAYS500 fails",
]


class Recorder(GenerationReporter):
    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []

    def info(self, message: str) -> None:
        self.events.append(("info", message))

    def progress(self, stats: dict[str, Any]) -> None:
        self.events.append(("progress", stats))

    def warning(self, key: str, message: str) -> None:
        self.events.append(("warning", key))

    def sample(self, record: dict[str, Any]) -> None:
        self.events.append(("sample", record))

    def done(self, summary: dict[str, Any]) -> None:
        self.events.append(("done", summary))

    def of(self, kind: str) -> list[Any]:
        return [payload for k, payload in self.events if k == kind]


def settings_for(server: TeacherServer, seeds: Path, out: Path, **extra: Any) -> GenerationSettings:
    options: dict[str, Any] = {"concurrency": 8, "attempts": 2, "backoff_base": 0.01, **extra}
    return GenerationSettings(
        base_url=server.base_url,
        model=server.script.model,
        seeds=str(seeds),
        count=options.pop("count", 20),
        out=out,
        **options,
    )


def assert_exactly_once(out: Path, start: int, count: int) -> tuple[list[dict], list[dict]]:
    accepted = read_jsonl(out)
    rejected = read_jsonl(out.with_name(out.stem + ".rejected.jsonl"))
    indices = [r["index"] for r in accepted] + [r["index"] for r in rejected]
    duplicates = [i for i, n in Counter(indices).items() if n > 1]
    assert not duplicates, f"indices written twice: {duplicates[:10]}"
    assert sorted(indices) == list(range(start, start + count))
    return accepted, rejected


def test_every_index_lands_once_with_the_right_reason(
    teacher: Callable[..., TeacherServer], tmp_path: Path
) -> None:
    server = teacher(reject_system=True, fingerprint="fp_3a1b")
    seeds = write_seed_lines(tmp_path / "seeds.jsonl", [*MIXED, "FILTERED answer"])
    out = tmp_path / "data" / "gen.jsonl"
    recorder = Recorder()
    summary = run_generation(settings_for(server, seeds, out, count=21), recorder)
    accepted, rejected = assert_exactly_once(out, 0, 21)
    assert summary["state"] == "completed" and summary["accepted"] == 16
    assert {r["index"]: r["reason"] for r in rejected} == {
        16: "unparseable",
        17: "truncated",
        18: "empty",
        19: "request-failed",
        20: "not-stopped",  # only finish_reason "stop" is kept, as upstream keeps
    }
    record = next(r for r in accepted if r["index"] == 3)
    raw_index = shuffled_order(21)[3]
    # Upstream's provenance fields, in its order, then magitui's own.
    assert list(record)[:6] == [
        "raw_index",
        "index",
        "seed",
        "openai_fingerprint",
        "problem",
        "solution",
    ]
    assert (record["raw_index"], record["openai_fingerprint"]) == (raw_index, "fp_3a1b")
    assert record["seed"] == "total_3 = 3 + 1" and "total_3 = 3 + 1" in record["problem"]
    assert record["solution"].startswith("```python")
    assert record["model"] == "teacher-model" and record["finish_reason"] == "stop"
    assert record["usage"]["completion_tokens"] > 0
    assert record["seed_source"] == {"source": "jsonl", "record": raw_index}
    raw = next(r for r in rejected if r["reason"] == "unparseable")["raw"]
    assert raw.startswith("Here is an idea")
    assert summary["system_role_merged"] is True
    assert recorder.of("warning").count("system-role") == 1
    assert recorder.of("sample")[-1]["index"] in {r["index"] for r in accepted}
    final = recorder.of("progress")[-1]
    assert final["done"] == 21 and final["rejected"]["truncated"] == 1 and final["in_flight"] == 0


def test_requests_carry_upstreams_parameters(
    teacher: Callable[..., TeacherServer], tmp_path: Path
) -> None:
    """seed 976 + index, n 1, temperature 0, max_tokens min(2500, context − prompt − 10)."""
    server = teacher()  # its model list says 4096 tokens: smaller than the assumed 8192
    seeds = write_seed_lines(tmp_path / "seeds.jsonl", [f"v_{i} = {i}" for i in range(30)])
    out = tmp_path / "gen.jsonl"
    summary = run_generation(settings_for(server, seeds, out, start=5, count=20))
    assert summary["state"] == "completed"
    by_snippet = {r["snippet"]: r for r in server.record.requests}
    for index in range(5, 25):
        request = by_snippet[f"v_{index} = {index}"]
        assert request == {
            "seed": 976 + index,
            "n": 1,
            "temperature": 0.0,
            "max_tokens": 2500,
            "snippet": f"v_{index} = {index}",
        }
    # A context with little room left: the budget shrinks exactly as upstream's formula says,
    # and a prompt that leaves no room is rejected without a request.
    server.record.requests.clear()
    long_line = "value = " + "x" * 2400
    seeds = write_seed_lines(tmp_path / "long.jsonl", ["short = 1", long_line])
    tight = tmp_path / "tight.jsonl"
    summary = run_generation(settings_for(server, seeds, tight, count=2, model_context=900))
    (request,) = server.record.requests
    assert request["snippet"] == "short = 1" and request["max_tokens"] < 900
    prompt = generation_prompt("short = 1", load_generation_prompt(None))
    assert request["max_tokens"] == 900 - estimate_tokens(prompt) - 10
    (rejected,) = read_jsonl(tmp_path / "tight.rejected.jsonl")
    assert (rejected["index"], rejected["reason"]) == (1, "prompt-too-long")
    assert "no room for an answer in the 900-token context" in rejected["detail"]


def test_a_rerun_asks_again_only_where_the_request_failed(
    teacher: Callable[..., TeacherServer], tmp_path: Path
) -> None:
    """An outage is not a verdict on the index: a rerun retries request-failed indices, keeps
    content rejections, and every index still ends in exactly one line."""
    server = teacher(fail_first=6)  # with 2 attempts a request: up to 3 indices fail
    seeds = write_seed_lines(tmp_path / "seeds.jsonl", MIXED)
    out = tmp_path / "gen.jsonl"
    first = run_generation(settings_for(server, seeds, out, concurrency=1))
    failed_first = first["rejected"]["request-failed"]
    assert failed_first >= 2  # the first requests failed, and index 19 always does
    server.record.requests.clear()
    recorder = Recorder()
    again = run_generation(settings_for(server, seeds, out, concurrency=1), recorder)
    asked = [r["snippet"] for r in server.record.requests]
    # Only the failed indices were asked again (ALWAYS500 twice: its 2 attempts), never the
    # unparseable, truncated or empty ones.
    assert len(asked) == (failed_first - 1) + 2 and asked.count("ALWAYS500 fails") == 2
    assert not {"MALFORMED answer please", "TRUNCATE the answer"} & set(asked)
    assert any("asked again" in message for message in recorder.of("info"))
    accepted, rejected = assert_exactly_once(out, 0, 20)
    assert len(accepted) == 16 and again["rejected"]["request-failed"] == 1
    assert sorted(r["reason"] for r in rejected) == [
        "empty",
        "request-failed",
        "truncated",
        "unparseable",
    ]


def test_empty_documents_and_short_sources(
    teacher: Callable[..., TeacherServer], tmp_path: Path
) -> None:
    server = teacher()
    seeds = write_seed_lines(tmp_path / "seeds.jsonl", ["a = 1", "", "b = 2"])
    out = tmp_path / "gen.jsonl"
    recorder = Recorder()
    summary = run_generation(settings_for(server, seeds, out, count=50), recorder)
    # Three documents give three indices: the range is cut with a warning, not an error.
    assert summary["state"] == "completed" and summary["total"] == 3
    assert recorder.of("warning") == ["capped"]
    (rejected,) = read_jsonl(tmp_path / "gen.rejected.jsonl")
    assert (rejected["index"], rejected["reason"]) == (1, "empty-seed")
    assert len(server.record.requests) == 2  # nothing asked about an empty document
    with pytest.raises(GenerationError, match=r"--start 3 is past the end: .* 3 indices \(0–2\)"):
        run_generation(settings_for(server, seeds, tmp_path / "other.jsonl", start=3, count=1))


def test_rerun_resumes_and_sends_nothing_for_done_indices(
    teacher: Callable[..., TeacherServer], tmp_path: Path, plain_seeds: Path
) -> None:
    server = teacher()
    out = tmp_path / "gen.jsonl"
    run_generation(settings_for(server, plain_seeds, out, count=10))
    sent = server.record.completions
    again = run_generation(settings_for(server, plain_seeds, out, count=10))
    assert server.record.completions == sent
    assert again["skipped_existing"] == 10 and again["generated_now"] == 0
    # A bigger range only asks for what is new, and new indices get their own seeds.
    bigger = run_generation(settings_for(server, plain_seeds, out, count=15, concurrency=3))
    assert server.record.completions == sent + 5 and bigger["generated_now"] == 5
    accepted, _ = assert_exactly_once(out, 0, 15)
    assert {r["index"]: r["seed"] for r in accepted}[12] == "value_12 = 12 * 2"
    # A smaller range counts its own indices, not the whole file ("3/3 done · accepted 15"
    # read as a bug to a new user).
    smaller = run_generation(settings_for(server, plain_seeds, out, count=3, start=2))
    assert (smaller["done"], smaller["total"], smaller["accepted"]) == (3, 3, 3)
    assert sum(smaller["rejected"].values()) == 0


def test_changed_settings_are_refused_unless_forced(
    teacher: Callable[..., TeacherServer], tmp_path: Path, plain_seeds: Path
) -> None:
    server = teacher()
    out = tmp_path / "gen.jsonl"
    run_generation(settings_for(server, plain_seeds, out, count=4))
    before = out.read_bytes()
    with pytest.raises(OutputError, match=r"other settings \(temperature 0.0 → 0.7\) — .*--force"):
        run_generation(settings_for(server, plain_seeds, out, count=8, temperature=0.7))
    assert out.read_bytes() == before  # nothing lost, nothing added
    forced = run_generation(
        settings_for(server, plain_seeds, out, count=8, temperature=0.7, force=True)
    )
    assert forced["generated_now"] == 4
    assert_exactly_once(out, 0, 8)


def test_torn_last_line_is_repaired(tmp_path: Path) -> None:
    out = tmp_path / "gen.jsonl"
    out.write_text('{"index": 0, "problem": "p"}\n{"index": 1, "prob')
    assert repair_torn_tail(out)
    assert out.read_text() == '{"index": 0, "problem": "p"}\n'
    assert not repair_torn_tail(out)
    output = GenerationOutput(out)
    state = output.open({"a": 1}, force=True)
    assert state.done == {0}
    output.close()


def test_fatal_error_stops_keeping_finished_work(
    teacher: Callable[..., TeacherServer], tmp_path: Path, plain_seeds: Path
) -> None:
    server = teacher(api_key=fake_openai_key("expected-0123456789abcdef"))
    out = tmp_path / "gen.jsonl"
    recorder = Recorder()
    summary = run_generation(settings_for(server, plain_seeds, out), recorder, api_key="sk-bad")
    assert summary["state"] == "failed" and "refused the API key (401)" in summary["error"]
    assert read_jsonl(out) == [] and read_jsonl(tmp_path / "gen.rejected.jsonl") == []


def generate_cmd(server: TeacherServer, seeds: Path, out: Path, *extra: str) -> list[str]:
    return [
        *magitui_cmd(),
        "generate",
        "--base-url",
        server.base_url,
        "--model",
        "teacher-model",
        "--seeds",
        str(seeds),
        "--out",
        str(out),
        "--backoff-base",
        "0.01",
        "--attempts",
        "2",
        *extra,
    ]


def test_cli_foreground_exit_codes(
    isolated: Path, teacher: Callable[..., TeacherServer], tmp_path: Path
) -> None:
    server = teacher()
    seeds = write_seed_lines(tmp_path / "seeds.jsonl", MIXED)
    out = tmp_path / "gen.jsonl"
    ok = subprocess.run(
        generate_cmd(server, seeds, out, "--count", "20"), capture_output=True, text=True
    )
    assert ok.returncode == 0, ok.stderr
    assert "completed: 20/20 indices accounted for — accepted 16" in ok.stderr
    assert_exactly_once(out, 0, 20)
    bad = subprocess.run(
        [*generate_cmd(server, seeds, out, "--count", "0")], capture_output=True, text=True
    )
    assert bad.returncode != 0 and "--count 0 — must be at least 1" in bad.stderr
    wrong = subprocess.run(
        # The last --model wins.
        [*generate_cmd(server, seeds, tmp_path / "o.jsonl", "--count", "3"), "--model", "nope"],
        capture_output=True,
        text=True,
    )
    assert wrong.returncode == 1
    assert "not found (404) for model 'nope'" in wrong.stderr


def start_engine(server: TeacherServer, seeds: Path, out: Path, count: int) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "magitui_core.generation.engine",
            "--base-url",
            server.base_url,
            "--model",
            "teacher-model",
            "--seeds",
            str(seeds),
            "--out",
            str(out),
            "--count",
            str(count),
            "--concurrency",
            "16",
            "--backoff-base",
            "0.01",
            "--attempts",
            "2",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def test_kill_9_at_random_moments_then_resume_exactly_once(
    teacher: Callable[..., TeacherServer], tmp_path: Path
) -> None:
    server = teacher(latency=0.01)
    count = 400
    seeds = write_seed_lines(tmp_path / "seeds.jsonl", MIXED * (count // len(MIXED)))
    out = tmp_path / "gen.jsonl"
    rng = random.Random(1234)
    kills = 0
    for _ in range(6):
        process = start_engine(server, seeds, out, count)
        time.sleep(rng.uniform(0.5, 1.8))  # start-up is ~0.5 s: kill mid-run, at varied points
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            kills += 1
        process.wait()
        # Whatever the moment, every complete line is valid JSON.
        for path in (out, tmp_path / "gen.rejected.jsonl"):
            if path.exists():
                lines = path.read_bytes().split(b"\n")
                for line in lines[:-1]:
                    json.loads(line)
    final = start_engine(server, seeds, out, count)
    assert final.wait(timeout=120) == 0
    assert kills >= 1
    accepted, rejected = assert_exactly_once(out, 0, count)
    # However the kills fell, the finished files are in index order, as one calm run leaves them.
    assert [r["index"] for r in accepted] == sorted(r["index"] for r in accepted)
    assert [r["index"] for r in rejected] == sorted(r["index"] for r in rejected)
    reasons = {16: "unparseable", 17: "truncated", 18: "empty", 19: "request-failed"}
    expected = Counter(reasons[i % 20] for i in range(count) if i % 20 in reasons)
    assert Counter(r["reason"] for r in rejected) == expected
    assert all(r["seed"] == MIXED[r["index"] % 20] for r in accepted)


def test_detached_job_reports_events_and_keeps_the_key_out_of_files(
    isolated: Path, teacher: Callable[..., TeacherServer], tmp_path: Path, jobs: Any
) -> None:
    key = fake_openai_key("detached-secret-0123456789")
    server = teacher(api_key=key, latency=0.02)
    seeds = write_seed_lines(tmp_path / "seeds.jsonl", MIXED * 2)
    out = tmp_path / "gen.jsonl"
    env = {**os.environ, "MY_TEACHER_KEY": key}
    started = subprocess.run(
        generate_cmd(
            server, seeds, out, "--count", "40", "--detach", "--api-key-env", "MY_TEACHER_KEY"
        ),
        capture_output=True,
        text=True,
        env=env,
    )
    assert started.returncode == 0, started.stderr
    job_id = started.stdout.strip()
    job = jobs.get(job_id)
    assert job.status.kind == "generate"
    deadline = time.monotonic() + 60
    while jobs.get(job_id).is_live:
        assert time.monotonic() < deadline, jobs.get(job_id).tail()
        time.sleep(0.1)
    job = jobs.get(job_id)
    assert job.state.value == "succeeded", job.tail()
    events = read_events(job.events_path)
    kinds = [e["type"] for e in events]
    assert {"started", "progress", "sample", "done", "exited"} <= set(kinds)
    done = next(e for e in events if e["type"] == "done")
    assert done["accepted"] == 32 and done["rejected"]["request-failed"] == 2
    assert next(e for e in events if e["type"] == "sample")["record"]["problem"]
    assert server.record.authorization == {f"Bearer {key}"}
    for path in job.dir.iterdir():
        assert key not in path.read_text(encoding="utf-8", errors="replace"), path.name
    assert_exactly_once(out, 0, 40)


def test_pause_marker_holds_new_requests(
    teacher: Callable[..., TeacherServer], tmp_path: Path, plain_seeds: Path
) -> None:
    server = teacher(latency=0.05)
    job_dir = tmp_path / "job"
    job_dir.mkdir()
    (job_dir / PAUSE_MARKER).write_text("paused\n")
    recorder = Recorder()

    def resume_later() -> None:
        deadline = time.monotonic() + 30
        while not any(p.get("paused") for p in recorder.of("progress")):
            if time.monotonic() > deadline:
                return
            time.sleep(0.05)
        (job_dir / PAUSE_MARKER).unlink()

    seen_while_paused: list[int] = []

    def watch() -> None:
        while (job_dir / PAUSE_MARKER).exists():
            seen_while_paused.append(server.record.completions)
            time.sleep(0.02)

    threads = [threading.Thread(target=resume_later), threading.Thread(target=watch)]
    for thread in threads:
        thread.start()
    summary = run_generation(
        settings_for(server, plain_seeds, tmp_path / "gen.jsonl", count=10),
        recorder,
        job_dir=job_dir,
    )
    for thread in threads:
        thread.join()
    assert summary["state"] == "completed"
    assert any(p.get("paused") for p in recorder.of("progress"))
    # Only the model-list request may have happened while paused; no completion was sent.
    assert seen_while_paused and max(seen_while_paused) == 0


def test_cli_lists_models_and_names_missing_options(
    isolated: Path, teacher: Callable[..., TeacherServer], tmp_path: Path
) -> None:
    server = teacher(context_length=8192)
    listed = subprocess.run(
        [*magitui_cmd(), "generate", "--base-url", server.base_url, "--list-models"],
        capture_output=True,
        text=True,
    )
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.strip() == "teacher-model  context 8192"
    assert "system role works" in listed.stderr
    missing = subprocess.run(
        [*magitui_cmd(), "generate", "--base-url", server.base_url, "--model", "m"],
        capture_output=True,
        text=True,
    )
    assert missing.returncode == 2 and "missing --seeds, --count" in missing.stderr
    no_url = subprocess.run([*magitui_cmd(), "generate"], capture_output=True, text=True)
    assert no_url.returncode == 2 and "magitui config set teacher.base_url" in no_url.stderr


def test_several_endpoints_share_the_work_and_a_dead_one_is_dropped(
    teacher: Callable[..., TeacherServer], tmp_path: Path, plain_seeds: Path
) -> None:
    fast, slow = teacher(latency=0.01), teacher(latency=0.2, reject_system=True)
    out = tmp_path / "gen.jsonl"
    recorder = Recorder()
    settings = settings_for(fast, plain_seeds, out, count=40, concurrency=4)
    settings.extra_base_urls = [slow.base_url]
    summary = run_generation(settings, recorder)
    assert summary["state"] == "completed"
    assert_exactly_once(out, 0, 40)
    # Both worked; the quick one, always with free capacity sooner, took the larger share.
    assert 0 < slow.record.statuses[200] < fast.record.statuses[200]
    assert f"system-role@{slow.base_url}" in recorder.of("warning")

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
    out2 = tmp_path / "gen2.jsonl"
    recorder = Recorder()
    settings = settings_for(fast, plain_seeds, out2, count=10)
    settings.extra_base_urls = [dead]
    summary = run_generation(settings, recorder)
    assert summary["state"] == "completed"
    assert_exactly_once(out2, 0, 10)
    assert f"dropped:{dead}" in recorder.of("warning")


def test_a_line_cut_mid_write_is_redone_once(
    teacher: Callable[..., TeacherServer], tmp_path: Path, plain_seeds: Path
) -> None:
    server = teacher()
    out = tmp_path / "gen.jsonl"
    run_generation(settings_for(server, plain_seeds, out, count=6, concurrency=1))
    data = out.read_bytes()
    out.write_bytes(data[:-15])  # what a kill in the middle of the last write would leave
    last_index = json.loads(data.splitlines()[-1])["index"]
    recorder = Recorder()
    again = run_generation(settings_for(server, plain_seeds, out, count=6, concurrency=1), recorder)
    assert again["generated_now"] == 1
    assert any(key.startswith("repaired:") for key in recorder.of("warning"))
    accepted, _ = assert_exactly_once(out, 0, 6)
    assert accepted[-1]["index"] == last_index


def test_unwritable_output_is_one_clear_line(tmp_path: Path, plain_seeds: Path) -> None:
    blocker = tmp_path / "file-not-folder"
    blocker.write_text("")
    settings = GenerationSettings(
        base_url="http://127.0.0.1:9/v1",
        model="m",
        seeds=str(plain_seeds),
        count=1,
        out=blocker / "gen.jsonl",
    )
    with pytest.raises(
        OutputError, match=r"cannot use output .*gen.jsonl: .* choose another --out"
    ):
        run_generation(settings)


def test_sigterm_stops_at_once_and_writes_the_summary(
    teacher: Callable[..., TeacherServer], tmp_path: Path, plain_seeds: Path
) -> None:
    """Answers take 30 s here; a stop must not wait for them (they are redone on resume)."""
    server = teacher(latency=30)
    out = tmp_path / "gen.jsonl"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "magitui_core.generation.engine",
            "--base-url",
            server.base_url,
            "--model",
            "teacher-model",
            "--seeds",
            str(plain_seeds),
            "--out",
            str(out),
            "--count",
            "10",
            "--concurrency",
            "4",
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while server.record.completions < 4:  # all four requests are in flight
        assert time.monotonic() < deadline and process.poll() is None
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=20)  # far less than the 30 s answers
    assert process.returncode == 130, stderr
    assert "stopped: 0/10 indices accounted for" in stderr
    assert "rerun the same settings to resume" in stderr
    assert read_jsonl(out) == [] and read_jsonl(tmp_path / "gen.rejected.jsonl") == []


def test_detached_into_a_run_writes_the_runs_data(
    isolated: Path, teacher: Callable[..., TeacherServer], plain_seeds: Path, jobs: Any
) -> None:
    server = teacher()
    assert (
        subprocess.run([*magitui_cmd(), "runs", "create", "r1"], capture_output=True).returncode
        == 0
    )
    started = subprocess.run(
        [
            *magitui_cmd(),
            "generate",
            "--base-url",
            server.base_url,
            "--model",
            "teacher-model",
            "--seeds",
            str(plain_seeds),
            "--count",
            "5",
            "--run",
            "r1",
            "--detach",
        ],
        capture_output=True,
        text=True,
    )
    assert started.returncode == 0, started.stderr
    job = jobs.get(started.stdout.strip())
    assert job.status.run == "r1" and job.dir.parent.parent.name == "r1"
    deadline = time.monotonic() + 60
    while jobs.get(job.id).is_live:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert jobs.get(job.id).state.value == "succeeded", jobs.get(job.id).tail()
    data = isolated / "workspace" / "runs" / "r1" / "data" / "generated.jsonl"
    assert_exactly_once(data, 0, 5)


def test_own_prompt_file_is_sent_and_fingerprinted(
    teacher: Callable[..., TeacherServer], tmp_path: Path, plain_seeds: Path
) -> None:
    server = teacher()
    prompt = tmp_path / "prompt.txt"
    prompt.write_text("Invent a puzzle {not a placeholder} from:\n```\n{code}\n```\n")
    out = tmp_path / "gen.jsonl"
    summary = run_generation(settings_for(server, plain_seeds, out, count=3, prompt_file=prompt))
    assert summary["accepted"] == 3
    assert server.record.last_user.startswith("Invent a puzzle {not a placeholder} from:\n```\n")
    with pytest.raises(OutputError, match=r"prompt_sha256"):
        run_generation(settings_for(server, plain_seeds, out, count=3))


def test_run_relative_out_lands_in_the_runs_data_folder(isolated: Path, teacher) -> None:  # type: ignore[no-untyped-def]
    """`--run NAME --out gen.jsonl` writes runs/NAME/data/gen.jsonl, as preprocess reads it."""
    server = teacher()
    seeds = write_seed_lines(isolated / "seeds.jsonl", ["x = 1", "y = 2"])
    subprocess.run([*magitui_cmd(), "runs", "create", "demo"], check=True, capture_output=True)
    result = subprocess.run(
        [
            *magitui_cmd(),
            "generate",
            "--base-url",
            server.base_url,
            "--model",
            "teacher-model",
            "--seeds",
            str(seeds),
            "--count",
            "2",
            "--run",
            "demo",
            "--out",
            "gen.jsonl",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=isolated,
    )
    assert result.returncode == 0, result.stderr
    data = isolated / "workspace" / "runs" / "demo" / "data"
    assert len(read_jsonl(data / "gen.jsonl")) == 2
    assert not (isolated / "gen.jsonl").exists()


def test_answers_that_come_back_out_of_turn_end_in_upstreams_order(
    teacher: Callable[..., TeacherServer], tmp_path: Path
) -> None:
    # Index 0 takes a second: with 8 in flight, the others land before it. Upstream sent one
    # request at a time, so its file is in index order, and the curation's shuffle (then
    # keep-the-first dedupe) depends on that order: the finished files must be in it too.
    lines = ["SLOW to answer", *MIXED[1:16], "MALFORMED answer", "TRUNCATE the answer"]
    seeds = write_seed_lines(tmp_path / "seeds.jsonl", lines)
    server = teacher()
    files: dict[int, tuple[bytes, bytes]] = {}
    for concurrency in (8, 1):
        out = tmp_path / f"c{concurrency}" / "gen.jsonl"
        summary = run_generation(
            settings_for(server, seeds, out, count=len(lines), concurrency=concurrency)
        )
        assert summary["state"] == "completed"
        accepted, rejected = assert_exactly_once(out, 0, len(lines))
        assert [r["index"] for r in accepted] == list(range(16))
        assert [r["index"] for r in rejected] == [16, 17]
        files[concurrency] = (out.read_bytes(), (out.parent / "gen.rejected.jsonl").read_bytes())
    answered = server.record.answered
    assert answered.index("SLOW to answer") > 8  # it did come back out of turn at concurrency 8
    assert files[8] == files[1]
