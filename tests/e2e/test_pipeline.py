"""The whole pipeline as a user runs it, offline on this CPU, with real processes only:
a scripted teacher on 127.0.0.1 → `magitui generate` → `magitui preprocess` →
`magitui train` (two-process DDP under accelerate launch, as a detached job watched through its
events) → `magitui serve` (transformers serve) → `magitui chat -p`. Each stage reads the file the
stage before wrote."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from magitui_core.context import open_context
from magitui_core.generation.local_teacher import ENDPOINT_FILE
from magitui_core.jobs.events import read_events
from magitui_core.jobs.supervisor import wait_group_empty
from magitui_core.prompts import training_prompt
from tests.conftest import magitui_cmd, wait_until_ended
from tests.generation.teacher_server import Script, TeacherServer

pytestmark = pytest.mark.slow

# HumanEval/7's whole canonical solution (upstream's search matches whole passages): samples
# quoting it must not reach training.
CONTAMINATED = "return [x for x in strings if substring in x]"


def magitui(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [*magitui_cmd(), *args], capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, f"magitui {' '.join(args)}\n{result.stderr[-3000:]}"
    return result


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def source_folder(root: Path) -> Path:
    """Code to draw seed snippets from: five modules and three contaminated one-liners."""
    root.mkdir()
    for i in range(5):
        functions = [f"def step_{i}_{j}(value):\n    return value * {j} + {i}\n" for j in range(12)]
        (root / f"module_{i}.py").write_text("\n".join(functions))
    for i in range(3):
        (root / f"leak_{i}.py").write_text(f"# {CONTAMINATED}\n")
    return root


def test_generate_preprocess_train_serve_chat(isolated: Path, tiny_model: Path) -> None:
    timings: dict[str, float] = {}
    magitui("runs", "create", "e2e")
    run = isolated / "workspace" / "runs" / "e2e"
    seeds = source_folder(isolated / "src")

    # 1. Generate 40 samples from the folder with a teacher on loopback.
    started = time.monotonic()
    with TeacherServer(Script(model="teacher-model")) as teacher:
        magitui(
            "generate",
            "--base-url",
            teacher.base_url,
            "--model",
            "teacher-model",
            "--seeds",
            str(seeds),
            "--count",
            "40",
            "--concurrency",
            "8",
            "--out",
            str(run / "data" / "generated.jsonl"),
        )
        assert teacher.record.completions == 40
    timings["generate"] = time.monotonic() - started
    accepted = read_jsonl(run / "data" / "generated.jsonl")
    rejected = read_jsonl(run / "data" / "generated.rejected.jsonl")
    assert sorted(r["index"] for r in accepted + rejected) == list(range(40))
    assert len(accepted) >= 30 and all(r["problem"] and r["solution"] for r in accepted)
    assert any(CONTAMINATED in r["problem"] for r in accepted)

    # 2. Dedupe, decontaminate against HumanEval, format.
    started = time.monotonic()
    curated = magitui(
        "preprocess",
        str(run / "data" / "generated.jsonl"),
        "--out",
        str(run / "data" / "train.jsonl"),
        "--report",
        str(run / "data" / "report.json"),
    )
    timings["preprocess"] = time.monotonic() - started
    train_rows = read_jsonl(run / "data" / "train.jsonl")
    report = json.loads((run / "data" / "report.json").read_text())
    reasons = json.dumps(report)
    assert "HumanEval/7" in reasons, "the contaminated samples were not removed"
    assert train_rows and all(CONTAMINATED not in r["instruction"] for r in train_rows)
    assert all(
        r["instruction"].startswith("Write a solution to the following coding problem:\n")
        for r in train_rows
    )
    assert str(len(train_rows)) in curated.stdout + curated.stderr

    # 3. Train the tiny model on it: two processes, detached, watched through events.
    started = time.monotonic()
    out = run / "checkpoints" / "ft"
    job_id = magitui(
        "train",
        "--data",
        str(run / "data" / "train.jsonl"),
        "--base-model",
        str(tiny_model),
        "--out",
        str(out),
        "--max-steps",
        "4",
        "--per-device-batch",
        "2",
        "--num-processes",
        "2",
        "--run",
        "e2e",
        "--detach",
    ).stdout.strip()
    jobs = open_context().jobs
    job = wait_until_ended(jobs, job_id, 300, "training")
    assert job.state.value == "succeeded", "\n".join(job.tail(40))
    timings["train"] = time.monotonic() - started
    events = read_events(job.events_path)
    assert [e["step"] for e in events if e["type"] == "metric"] == [1, 2, 3, 4]
    assert next(e for e in events if e["type"] == "progress")["world_size"] == 2
    (done,) = [e for e in events if e["type"] == "done"]
    final = Path(done["final"])
    assert final == out / "final" and (final / "model.safetensors").exists()

    # 4. Serve the final model and 5. chat with it, in the prompt it was trained on.
    started = time.monotonic()
    server_id = magitui("serve", str(final), "--engine", "transformers").stdout.strip()
    try:
        endpoint = json.loads((jobs.get(server_id).dir / ENDPOINT_FILE).read_text())
        timings["serve"] = time.monotonic() - started
        started = time.monotonic()
        answer = magitui(
            "chat",
            "--base-url",
            endpoint["base_url"],
            "--model",
            endpoint["model"],
            "-p",
            "Write add.",
            "--max-tokens",
            "8",
            "--save",
            str(run / "chat.json"),
        )
        timings["chat"] = time.monotonic() - started
        assert "finish " in answer.stderr
        turns = json.loads((run / "chat.json").read_text())["turns"]
        assert turns[0]["content"] == "Write add." and turns[1]["role"] == "assistant"
    finally:
        stopped = jobs.stop(server_id, grace=10)
    assert stopped.state.value == "stopped" and wait_group_empty(stopped.status.pgid, 5)

    from transformers import AutoTokenizer

    rendered = AutoTokenizer.from_pretrained(final).apply_chat_template(
        [{"role": "user", "content": "Write add."}], tokenize=False, add_generation_prompt=True
    )
    assert rendered.endswith(training_prompt("Write add."))
    print("stage seconds:", {k: round(v, 1) for k, v in timings.items()})
