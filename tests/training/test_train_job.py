"""Real training of a tiny model on the CPU, as a detached job, watched through its events."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from magitui_core.jobs.events import read_events
from magitui_core.jobs.manager import JobInfo, JobManager
from magitui_core.prompts import training_prompt
from magitui_core.training.sft import RUN_CARD
from tests.conftest import wait_until_ended


def train_job(jobs: JobManager, *args: str, timeout: float = 180) -> JobInfo:
    job = jobs.start([sys.executable, "-m", "magitui_core.training.sft", *args], kind="train")
    return wait_until_ended(jobs, job.id, timeout, "training")


def test_training_job_writes_events_checkpoints_and_a_servable_model(
    jobs: JobManager, tiny_model: Path, train_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    info = train_job(
        jobs,
        "--data",
        str(train_file),
        "--base-model",
        str(tiny_model),
        "--out",
        str(out),
        "--max-steps",
        "6",
        "--global-batch",
        "4",
        "--per-device-batch",
        "4",
        "--save-steps",
        "3",
    )
    assert info.state.value == "succeeded", "\n".join(info.tail(30))
    events = read_events(info.events_path)
    types = [e["type"] for e in events]
    assert types[0] == "started" and types[-1] == "exited"
    (rows,) = [e for e in events if e["type"] == "log" and "rows" in e]
    assert rows["rows"] == 40 and rows["truncated"] == 0
    metrics = [e for e in events if e["type"] == "metric"]
    assert [m["step"] for m in metrics] == [1, 2, 3, 4, 5, 6]
    assert all(m["loss"] > 0 and m["tokens_per_s"] > 0 and m["total"] == 6 for m in metrics)
    assert metrics[-1]["eta_s"] == 0
    saves = [e["step"] for e in events if e["type"] == "log" and "checkpoint" in e]
    assert saves == [3, 6]
    (done,) = [e for e in events if e["type"] == "done"]
    assert done["steps"] == 6 and done["final"] == str(out / "final")

    from transformers import AutoModelForCausalLM, AutoTokenizer

    final = out / "final"
    AutoModelForCausalLM.from_pretrained(final)  # loadable
    tokenizer = AutoTokenizer.from_pretrained(final)
    rendered = tokenizer.apply_chat_template(
        [{"role": "user", "content": "Reverse a string."}],
        tokenize=False,
        add_generation_prompt=True,
    )
    assert rendered == tokenizer.bos_token + training_prompt("Reverse a string.")
    card = json.loads((final / RUN_CARD).read_text())
    assert card["base_model"] == str(tiny_model) and card["rows"] == 40
    assert card["settings"]["learning_rate"] == 5e-5
    assert "@@ Instruction" in card["prompt"]
    # The recipe unless told otherwise; what the Trainer itself used agrees.
    effective = card["effective"]
    assert (effective["global_batch"], effective["per_device_batch"]) == (4, 4)
    assert (effective["grad_accum"], effective["processes"]) == (1, 1)
    assert (effective["optimizer"], effective["sampling"]) == ("adafactor", "random")
    assert effective["max_grad_norm"] is None and effective["packing"] is False
    assert card["trainer"]["optimizer_class"] == "Adafactor"
    assert card["trainer"]["max_grad_norm"] == 0.0  # Trainer's "off"
    assert 0 < card["pad_share"] < 1
    (logged,) = [e for e in events if e["type"] == "log" and "effective" in e]
    assert logged["effective"] == effective


def test_resume_continues_the_step_count(
    jobs: JobManager, tiny_model: Path, train_file: Path, tmp_path: Path
) -> None:
    common = [
        "--data",
        str(train_file),
        "--base-model",
        str(tiny_model),
        "--out",
        str(tmp_path / "out"),
        "--global-batch",
        "4",
        "--per-device-batch",
        "4",
        "--save-steps",
        "2",
    ]
    first = train_job(jobs, *common, "--max-steps", "4")
    assert first.state.value == "succeeded"
    second = train_job(jobs, *common, "--max-steps", "6", "--resume")
    assert second.state.value == "succeeded", "\n".join(second.tail(30))
    steps = [e["step"] for e in read_events(second.events_path) if e["type"] == "metric"]
    assert steps == [5, 6]


def test_unusable_data_fails_with_one_line(
    jobs: JobManager, tiny_model: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "raw.jsonl"
    bad.write_text(json.dumps({"problem": "p", "solution": "s"}) + "\n")
    info = train_job(
        jobs, "--data", str(bad), "--base-model", str(tiny_model), "--out", str(tmp_path / "out")
    )
    assert info.state.value == "failed" and info.status.exit_code == 2
    (error,) = [e for e in read_events(info.events_path) if e["type"] == "error"]
    assert "needs fields instruction, response; has problem, solution" in error["message"]
    assert "Traceback" not in "\n".join(info.tail(5))


@pytest.mark.slow
def test_two_process_ddp_under_accelerate_writes_events_once(
    jobs: JobManager, tiny_model: Path, train_file: Path, tmp_path: Path
) -> None:
    """`--multi_gpu` on CPU is real two-process DDP over gloo (`--cpu` would run one)."""
    command = [
        sys.executable,
        "-m",
        "accelerate.commands.launch",
        "--multi_gpu",
        "--num_processes",
        "2",
        "--num_machines",
        "1",
        "--mixed_precision",
        "no",
        "--dynamo_backend",
        "no",
        "--main_process_port",
        "29533",
        "-m",
        "magitui_core.training.sft",
        "--data",
        str(train_file),
        "--base-model",
        str(tiny_model),
        "--out",
        str(tmp_path / "out"),
        "--max-steps",
        "4",
        "--global-batch",
        "4",
        "--per-device-batch",
        "2",
        "--save-steps",
        "4",
    ]
    job = jobs.start(command, kind="train")
    info = wait_until_ended(jobs, job.id, 300, "DDP training")
    assert info.state.value == "succeeded", "\n".join(info.tail(40))
    events = read_events(info.events_path)
    (begin,) = [e for e in events if e["type"] == "progress"]
    assert begin["world_size"] == 2
    assert [e["step"] for e in events if e["type"] == "metric"] == [1, 2, 3, 4]
    # The global batch of 4 splits as 2 per device × 2 processes, so no accumulation.
    (effective,) = [e["effective"] for e in events if e["type"] == "log" and "effective" in e]
    assert (effective["processes"], effective["grad_accum"]) == (2, 1)
    assert (tmp_path / "out" / "final" / "model.safetensors").exists()


@pytest.mark.slow
@pytest.mark.parametrize("stage", [2, 3])
def test_deepspeed_zero_with_cpu_offload(
    jobs: JobManager, tiny_model: Path, train_file: Path, tmp_path: Path, stage: int
) -> None:
    """ZeRO-2/3 with optimizer (and for 3, parameter) offload; the first run compiles
    DeepSpeed's CPU Adam (60–90 s, cached in TORCH_EXTENSIONS_DIR)."""
    offload_params = (
        [
            "--offload_param_device",
            "cpu",
            "--zero3_init_flag",
            "false",
            "--zero3_save_16bit_model",
            "true",
        ]
        if stage == 3
        else []
    )
    command = [
        sys.executable,
        "-m",
        "accelerate.commands.launch",
        "--use_deepspeed",
        "--num_processes",
        "1",
        "--num_machines",
        "1",
        "--zero_stage",
        str(stage),
        "--offload_optimizer_device",
        "cpu",
        *offload_params,
        "--mixed_precision",
        "no",
        "--dynamo_backend",
        "no",
        "--main_process_port",
        str(29550 + stage),
        "-m",
        "magitui_core.training.sft",
        "--data",
        str(train_file),
        "--base-model",
        str(tiny_model),
        "--out",
        str(tmp_path / "out"),
        "--max-steps",
        "3",
        "--global-batch",
        "4",
        "--per-device-batch",
        "4",
        "--save-steps",
        "3",
        "--optim",
        "adamw_torch",  # DeepSpeed runs its CPU Adam under offload; Adafactor cannot run
    ]
    job = jobs.start(command, kind="train")
    info = wait_until_ended(jobs, job.id, 540, "DeepSpeed training")
    assert info.state.value == "succeeded", "\n".join(info.tail(40))
    events = read_events(info.events_path)
    assert [e["step"] for e in events if e["type"] == "metric"] == [1, 2, 3]
    (trainer,) = [e["trainer"] for e in events if e["type"] == "log" and "trainer" in e]
    assert trainer["optimizer_class"] == "DeepSpeedCPUAdam" and trainer["optim"] == "adamw_torch"
    from transformers import AutoModelForCausalLM

    trained = AutoModelForCausalLM.from_pretrained(tmp_path / "out" / "final")
    base = AutoModelForCausalLM.from_pretrained(tiny_model)
    assert sum(p.numel() for p in trained.parameters()) == sum(p.numel() for p in base.parameters())


@pytest.mark.slow
def test_adafactor_swapped_by_deepspeed_stops_before_its_crash(
    jobs: JobManager, tiny_model: Path, train_file: Path, tmp_path: Path
) -> None:
    """Past preflight (a hand-made launch, or --skip-checks), Adafactor under ZeRO optimizer
    offload stops before the first step with the reason, not DeepSpeed's adam_update crash."""
    command = [sys.executable, "-m", "accelerate.commands.launch", "--use_deepspeed"]
    command += ["--num_processes", "1", "--num_machines", "1", "--zero_stage", "2"]
    command += ["--offload_optimizer_device", "cpu", "--mixed_precision", "no"]
    command += ["--dynamo_backend", "no", "--main_process_port", "29561"]
    command += ["-m", "magitui_core.training.sft", "--data", str(train_file)]
    command += ["--base-model", str(tiny_model), "--out", str(tmp_path / "out")]
    command += ["--global-batch", "4", "--per-device-batch", "4", "--max-steps", "2"]
    job = jobs.start(command, kind="train")
    info = wait_until_ended(jobs, job.id, 540, "DeepSpeed training")
    # The entry point exits 2; accelerate's launcher reports any failure as 1.
    assert info.state.value == "failed", "\n".join(info.tail(40))
    (error,) = [e for e in read_events(info.events_path) if e["type"] == "error"]
    assert error["message"].startswith(
        "optimizer adafactor with ZeRO optimizer offload: DeepSpeed replaced it with its CPU Adam"
    )
    assert not [e for e in read_events(info.events_path) if e["type"] == "metric"]
