"""`magitui train` as a user runs it: validated up front, run as a job, followed live."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import magitui_cmd


def magitui(*args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*magitui_cmd(), *args], capture_output=True, text=True, timeout=timeout)


def train_tiny(
    tiny_model: Path, train_file: Path, out: Path, steps: int, *extra: str
) -> subprocess.CompletedProcess[str]:
    """`magitui train` of the tiny model, followed to its end: 4 rows per step (the recipe's
    512 would be one step per epoch of these 40 rows)."""
    return magitui(
        "train",
        "--data",
        str(train_file),
        "--base-model",
        str(tiny_model),
        "--out",
        str(out),
        "--max-steps",
        str(steps),
        "--global-batch",
        "4",
        "--per-device-batch",
        "4",
        *extra,
    )


def test_train_follows_the_job_to_the_end(
    isolated: Path, tiny_model: Path, train_file: Path
) -> None:
    out = isolated / "out"
    result = train_tiny(tiny_model, train_file, out, 3)
    assert result.returncode == 0, result.stderr
    job_id = result.stdout.strip()
    lines = result.stderr.splitlines()
    assert [line.split()[1] for line in lines if line.startswith("step ")] == ["1/3", "2/3", "3/3"]
    assert f"done: trained 3 steps; model in {out / 'final'}" in lines
    (job,) = json.loads(magitui("jobs", "--json").stdout)
    assert job["id"] == job_id and job["kind"] == "train" and job["state"] == "succeeded"


def test_a_second_training_into_one_folder_is_refused(
    isolated: Path, tiny_model: Path, train_file: Path
) -> None:
    """While a training writes OUT, another is refused before a job is made; a training that
    finds OUT locked anyway (started around the check) stops with the reason, exit 2."""
    from magitui_core.jobs.locks import OutputLock

    out = isolated / "out"
    with OutputLock(out):
        refused = train_tiny(tiny_model, train_file, out, 2, "--detach")
        assert refused.returncode == 1 and "Traceback" not in refused.stderr
        assert f"another magitui is writing {out}" in refused.stderr
        assert json.loads(magitui("jobs", "--json").stdout) == []
        entry = subprocess.run(
            [
                sys.executable,
                "-m",
                "magitui_core.training.sft",
                "--data",
                str(train_file),
                "--base-model",
                str(tiny_model),
                "--out",
                str(out),
                "--global-batch",
                "4",
                "--per-device-batch",
                "4",
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert entry.returncode == 2 and f"another magitui is writing {out}" in entry.stderr
    assert not (out / "final").exists()


def test_bad_arguments_are_refused_before_any_job_starts(
    isolated: Path, tiny_model: Path, train_file: Path
) -> None:
    missing = magitui(
        "train",
        "--data",
        str(isolated / "nope.jsonl"),
        "--base-model",
        str(tiny_model),
        "--out",
        str(isolated / "out"),
    )
    assert missing.returncode == 1
    assert "nope.jsonl does not exist" in missing.stderr
    negative = magitui(
        "train",
        "--data",
        str(train_file),
        "--base-model",
        str(tiny_model),
        "--out",
        str(isolated / "out"),
        "--epochs",
        "-1",
    )
    assert negative.returncode == 1 and "--epochs = -1.0" in negative.stderr
    not_a_model = magitui(
        "train",
        "--data",
        str(train_file),
        "--base-model",
        str(isolated),
        "--out",
        str(isolated / "out"),
    )
    assert not_a_model.returncode == 1 and "has no config.json" in not_a_model.stderr
    for flags in ([], ["--dry-run"]):
        missing_model = magitui(
            "train",
            *flags,
            "--data",
            str(train_file),
            "--base-model",
            "/no/such/dir",
            "--out",
            str(isolated / "out"),
        )
        assert missing_model.returncode == 1 and "Traceback" not in missing_model.stderr
        assert "--base-model folder /no/such/dir does not exist" in missing_model.stderr
    assert json.loads(magitui("jobs", "--json").stdout) == []
    assert not (isolated / "out").exists()


def test_preflight_stops_the_walkthrough_mistake(
    isolated: Path, tiny_model: Path, train_file: Path
) -> None:
    """The walkthrough: Adafactor asked explicitly with ZeRO optimizer offload, 24 per device ×
    128 accumulation on 40 rows."""
    config = isolated / "cfg"
    written = magitui(
        "accelerate-config",
        "--out",
        str(config),
        "--gpus",
        "0",
        "--zero-stage",
        "2",
        "--offload-optimizer",
        "cpu",
        "--mixed-precision",
        "no",
        "--grad-accum",
        "128",
    )
    assert written.returncode == 0, written.stderr
    refused = magitui(
        "train",
        "--data",
        str(train_file),
        "--base-model",
        str(tiny_model),
        "--out",
        str(isolated / "out"),
        "--optim",
        "adafactor",
        "--per-device-batch",
        "24",
        "--global-batch",
        "3072",
        "--accelerate-config",
        str(config / "accelerate.yaml"),
    )
    assert refused.returncode == 1
    assert "error: optimizer adafactor with ZeRO optimizer offload" in refused.stderr
    assert "use --optim adamw_torch (the nearest choice that runs" in refused.stderr
    assert (
        "warning: effective batch 3072 (24 per device × 128 accumulation × 1 process) "
        "on 40 rows is 1 optimizer step(s) per epoch, 2 in all; each step averages all 40 "
        "rows, not 3072" in refused.stderr
    )
    assert "1 preflight error(s); fix them, or launch anyway with --skip-checks" in refused.stderr
    assert json.loads(magitui("jobs", "--json").stdout) == []


def test_packing_flag_reaches_the_training(
    isolated: Path, tiny_model: Path, train_file: Path
) -> None:
    result = train_tiny(tiny_model, train_file, isolated / "out", 2, "--packing")
    assert result.returncode == 0, result.stderr
    assert "log: attention sdpa, packed batches (no padding)" in result.stderr.splitlines()
    (job,) = json.loads(magitui("jobs", "--json").stdout)
    assert "--packing" in job["command"]


def test_dry_run_prints_the_command_and_starts_nothing(
    isolated: Path, tiny_model: Path, train_file: Path
) -> None:
    out = isolated / "out"
    base = ["train", "--data", str(train_file), "--base-model", str(tiny_model), "--out", str(out)]
    launchable = magitui(*base, "--num-processes", "2", "--max-len", "256", "--dry-run")
    assert launchable.returncode == 0, launchable.stderr
    command = launchable.stdout.strip()
    assert "accelerate.commands.launch --multi_gpu --num_processes 2" in command
    assert "-m magitui_core.training.sft" in command and "--max-seq-len 256" in command
    assert "launchable: drop --dry-run to start it" in launchable.stderr
    blocked = magitui(*base, "--batch-size", "0", "--dry-run")
    assert blocked.returncode == 1 and "--per-device-batch = 0: must be at least 1" in (
        blocked.stderr
    )
    refused = magitui(*base, "--optim", "adafactor", "--dry-run", "--config", str(isolated / "x"))
    assert refused.returncode == 1 and "accelerate config" in refused.stderr
    assert json.loads(magitui("jobs", "--json").stdout) == []
    assert not out.exists()
