"""The Magicoder recipe by default: upstream's training command as magitui's defaults, the
global batch as the unit, Setup's answers reaching the launch, `--dry-run --json`, and the
spellings of older transformers."""

from __future__ import annotations

import itertools
import json
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from magitui_core.training.accelerate_config import (
    AccelerateSettings,
    LaunchConfigError,
    read_launch_config,
    write_configs,
)
from magitui_core.training.launch import LaunchError, LaunchRequest, resolve_launch
from magitui_core.training.preflight import Machine
from magitui_core.training.recipe import MAGICODER, BatchError, deviations, resolve_batch
from magitui_core.training.sft import (
    RUN_CARD,
    model_loading_arguments,
    sampling_argument,
    tokenizer_argument,
)
from tests.conftest import magitui_cmd

GB = 1024**3
TWO_A100 = Machine(gpu_count=2, gpu_memory=80 * GB, bf16=True, cpu_memory=500 * GB, free_disk=GB)
CPU_ONLY = Machine(gpu_count=0, gpu_memory=0, bf16=False, cpu_memory=24 * GB, free_disk=GB)

# ise-uiuc/magicoder README-DEV.md, "Instruction tuning", verbatim; its global batch of 512
# is 2 GPUs × 2 per device × 128 accumulation.
README_DEV_COMMAND = r"""
accelerate launch -m magicoder.train \
  --model_key $MODEL_KEY \
  --use_flash_attention True \
  --max_training_seq_length 1216 \
  --datafile_paths \
    ${PATH_TO_OSS_INSTRUCT} \
  --output_dir $MAGICODER_OUTPUT_DIR \
  --bf16 True \
  --num_train_epochs 2 \
  --per_device_train_batch_size 2 \
  --gradient_accumulation_steps 128 \
  --group_by_length False \
  --ddp_find_unused_parameters False \
  --logging_steps 1 \
  --log_level info \
  --optim adafactor \
  --max_grad_norm -1 \
  --warmup_steps 15 \
  --learning_rate 5e-5 \
  --lr_scheduler_type linear
"""
UPSTREAM_GPUS = 2


def upstream_effective() -> dict[str, Any]:
    """README-DEV's flags in magitui's `effective` terms."""
    words = shlex.split(README_DEV_COMMAND.replace("\\\n", " "))
    flags = {w[2:]: v for w, v in itertools.pairwise(words) if w.startswith("--")}
    per_device = int(flags["per_device_train_batch_size"])
    accumulation = int(flags["gradient_accumulation_steps"])
    clip = float(flags["max_grad_norm"])
    return {
        "global_batch": per_device * accumulation * UPSTREAM_GPUS,
        "per_device_batch": per_device,
        "grad_accum": accumulation,
        "processes": UPSTREAM_GPUS,
        "learning_rate": float(flags["learning_rate"]),
        "warmup_steps": int(flags["warmup_steps"]),
        "scheduler": flags["lr_scheduler_type"],
        "optimizer": flags["optim"],
        "epochs": float(flags["num_train_epochs"]),
        "max_len": int(flags["max_training_seq_length"]),
        "precision": "bf16" if flags["bf16"] == "True" else "fp32",
        "sampling": "group_by_length" if flags["group_by_length"] == "True" else "random",
        "max_grad_norm": clip if clip > 0 else None,
        "attention": "flash_attention_2" if flags["use_flash_attention"] == "True" else "eager",
    }


def request(tmp_path: Path, **options: Any) -> LaunchRequest:
    return LaunchRequest(
        data=[tmp_path / "train.jsonl"], base_model="org/model", out=tmp_path / "out", **options
    )


def setup_config(folder: Path, **answers: Any) -> Path:
    """The files the Setup screen and `magitui accelerate-config` write (same writer)."""
    yaml_path, _ = write_configs(AccelerateSettings(**answers), folder)
    return yaml_path


# ---- upstream's defaults ----------------------------------------------------------------------
def test_defaults_are_readme_devs_command(tmp_path: Path) -> None:
    """With no options but the processes, magitui trains as README-DEV says, on 2 GPUs from
    the command line or from a Setup config alike; packing is the faithful fast path."""
    expected = upstream_effective()
    plain = resolve_launch(request(tmp_path, num_processes=2), TWO_A100, flash_installed=True)
    config = setup_config(tmp_path / "cfg", gpus=2, grad_accum=128, use_deepspeed=False)
    from_setup = resolve_launch(
        request(tmp_path, accelerate_config=config), TWO_A100, flash_installed=True
    )
    for resolved in (plain, from_setup):
        record = resolved.effective
        assert {key: record[key] for key in expected} == expected
        assert record["packing"] is True  # same examples per step, no padding
        assert deviations(record) == []
        assert resolved.findings == []
    assert "--grad-accum 128" in shlex.join(plain.command)
    assert {k: getattr(MAGICODER, k) for k in expected if hasattr(MAGICODER, k)} == {
        k: v for k, v in expected.items() if hasattr(MAGICODER, k)
    }


def test_a_cpu_names_what_it_cannot_do_like_the_recipe(tmp_path: Path) -> None:
    resolved = resolve_launch(request(tmp_path), CPU_ONLY, flash_installed=False)
    record = resolved.effective
    assert (record["processes"], record["grad_accum"], record["global_batch"]) == (1, 256, 512)
    assert (record["precision"], record["attention"], record["packing"]) == ("fp32", "sdpa", False)
    assert [d["setting"] for d in deviations(record)] == ["precision", "attention"]


def test_a_gpu_without_flash_attention_says_so(tmp_path: Path) -> None:
    resolved = resolve_launch(request(tmp_path, num_processes=2), TWO_A100, flash_installed=False)
    assert resolved.effective["attention"] == "sdpa" and resolved.effective["packing"] is False
    (finding,) = resolved.findings
    assert finding.level == "warning" and "flash-attn is not installed" in finding.message
    assert "pip install flash-attn" in finding.fix


# ---- the global batch -------------------------------------------------------------------------
def test_accumulation_follows_from_processes_and_per_device_batch() -> None:
    assert resolve_batch(512, 2, 2).grad_accum == 128
    assert resolve_batch(512, 2, 1).grad_accum == 256
    assert resolve_batch(512, 8, 8).grad_accum == 8
    assert resolve_batch(512, 2, 2, 128).grad_accum == 128  # given, and it multiplies out


def test_a_batch_that_does_not_divide_names_the_nearest_choices() -> None:
    with pytest.raises(BatchError) as caught:
        resolve_batch(510, 4, 1, sources={"global_batch": "--global-batch"})
    assert str(caught.value) == (
        "global batch 510 (--global-batch) does not split into 1 process × 4 per device: "
        "510 / 4 = 127.5 accumulation steps — use --global-batch 508 or 512, or "
        "--per-device-batch 2 or 3 or 5"
    )
    with pytest.raises(BatchError, match=r"use --global-batch 510 or 516"):
        resolve_batch(512, 2, 3)  # 512 rows do not split over 3 processes at all


def test_a_given_accumulation_must_multiply_out() -> None:
    sources = {"grad_accum": "from cfg/deepspeed.json", "global_batch": "the recipe's"}
    with pytest.raises(BatchError) as caught:
        resolve_batch(512, 2, 2, 1, sources)
    assert str(caught.value) == (
        "per-device batch 2 × gradient accumulation 1 (from cfg/deepspeed.json) × 2 processes "
        "= 4, not the global batch 512 (the recipe's) — use --global-batch 4 to train with "
        "this product or gradient accumulation 128 or --per-device-batch 256"
    )


# ---- reading the accelerate config --------------------------------------------------------------
def test_setup_answers_reach_the_launch(tmp_path: Path) -> None:
    config = setup_config(tmp_path / "cfg", gpus=2, zero_stage=2, grad_accum=128, grad_clip=1.0)
    ds = json.loads((tmp_path / "cfg" / "deepspeed.json").read_text())
    # DeepSpeed and Trainer's mismatch check then refuse a launch that says otherwise.
    assert (ds["gradient_accumulation_steps"], ds["gradient_clipping"]) == (128, 1.0)
    resolved = resolve_launch(request(tmp_path, accelerate_config=config.parent), TWO_A100)
    argv = shlex.join(resolved.train_argv)
    assert "--grad-accum 128" in argv and "--precision bf16" in argv
    assert "--max-grad-norm 1.0" in argv and "--global-batch 512" in argv
    assert resolved.command[3:5] == ["--config_file", str(config)]
    assert (resolved.effective["processes"], resolved.effective["max_grad_norm"]) == (2, 1.0)


def test_a_flag_that_conflicts_with_the_config_names_both(tmp_path: Path) -> None:
    config = setup_config(tmp_path / "cfg", gpus=2, zero_stage=2, grad_accum=128, grad_clip=1.0)
    ds = tmp_path / "cfg" / "deepspeed.json"
    cases = {
        "grad_accum": (64, f"--grad-accum 64 conflicts with gradient accumulation 128 in the "
                       f"accelerate config ({ds})"),
        "num_processes": (4, f"--num-processes 4 conflicts with num_processes 2 in the "
                          f"accelerate config ({config})"),
        "precision": ("fp32", f"--precision fp32 conflicts with mixed_precision bf16 in the "
                      f"accelerate config ({tmp_path / 'cfg' / 'setup-answers.json'})"),
        "max_grad_norm": (-1.0, f"--max-grad-norm -1.0 conflicts with gradient clipping 1 in "
                          f"the accelerate config ({ds})"),
    }  # fmt: skip
    for option, (value, message) in cases.items():
        with pytest.raises(LaunchError) as caught:
            resolve_launch(request(tmp_path, accelerate_config=config, **{option: value}), TWO_A100)
        assert str(caught.value).startswith(message), str(caught.value)
        assert "drop" in str(caught.value) and "or change the config" in str(caught.value)
    # The same values given explicitly are no conflict; bf16-mixed is still bf16.
    agreeing = request(
        tmp_path, accelerate_config=config, grad_accum=128, num_processes=2, precision="bf16-mixed"
    )
    assert resolve_launch(agreeing, TWO_A100).effective["precision"] == "bf16-mixed"


def test_setups_default_accumulation_is_not_silently_the_recipe(tmp_path: Path) -> None:
    """Setup's accumulation of 1 on 2 GPUs is a global batch of 4: said, with the fixes."""
    config = setup_config(tmp_path / "cfg", gpus=2, zero_stage=2)
    with pytest.raises(LaunchError) as caught:
        resolve_launch(request(tmp_path, accelerate_config=config), TWO_A100)
    message = str(caught.value)
    assert message.startswith(
        "per-device batch 2 (default) × gradient accumulation 1 (from "
        f"{tmp_path / 'cfg' / 'deepspeed.json'}) × 2 processes (from {config}) = 4, not the "
        "global batch 512 (the recipe's) — use --global-batch 4"
    )
    assert "gradient accumulation 128" in message
    small = resolve_launch(request(tmp_path, accelerate_config=config, global_batch=4), TWO_A100)
    assert small.effective["global_batch"] == 4
    assert deviations(small.effective)[0] == {"setting": "global_batch", "value": 4, "recipe": 512}


def test_offloaded_adafactor_gives_way_to_the_nearest_choice(tmp_path: Path) -> None:
    config = setup_config(
        tmp_path / "cfg", gpus=2, zero_stage=3, offload_optimizer="cpu", offload_params="cpu"
    )
    asked = request(tmp_path, accelerate_config=config, global_batch=4)
    resolved = resolve_launch(asked, TWO_A100, flash_installed=True)
    assert resolved.effective["optimizer"] == "adamw_torch"
    (finding,) = resolved.findings
    assert finding.level == "warning"
    assert finding.message.startswith(
        "optimizer adamw_torch instead of the recipe's adafactor: ZeRO optimizer offload (cpu)"
    )
    assert resolved.settings.notes == [finding.message]  # kept in the run card
    assert "--note" in resolved.train_argv


def test_configs_other_tools_wrote(tmp_path: Path) -> None:
    """An accelerate YAML with inline DeepSpeed settings and no Setup answers."""
    yaml_path = tmp_path / "hand.yaml"
    yaml_path.write_text(
        "distributed_type: DEEPSPEED\nnum_machines: 1\nnum_processes: 4\n"
        "mixed_precision: bf16\ndeepspeed_config:\n  gradient_accumulation_steps: 64\n"
        "  gradient_clipping: 1.0\n  zero_stage: 2\n  offload_optimizer_device: cpu\n"
    )
    config = read_launch_config(yaml_path)
    assert (config.processes, config.grad_accum, config.grad_clip) == (4, 64, 1.0)
    assert (config.mixed_precision, config.offload_optimizer) == ("bf16", "cpu")
    assert config.zero_stage == 2
    assert config.answers is None and config.accelerate_settings().num_processes == 4
    # A DeepSpeed JSON of "auto" values says nothing: the answers beside it do.
    folder = tmp_path / "old"
    setup_config(folder, gpus=1, grad_accum=256, mixed_precision="fp16")
    ds = folder / "deepspeed.json"
    values = json.loads(ds.read_text())
    values["gradient_accumulation_steps"] = "auto"
    ds.write_text(json.dumps(values))
    old = read_launch_config(folder)
    assert (old.grad_accum, old.sources["grad_accum"]) == (256, str(folder / "setup-answers.json"))
    assert old.mixed_precision == "fp16" and old.clipping_known and old.grad_clip is None
    values["gradient_accumulation_steps"] = 32  # edited by hand, answers not
    ds.write_text(json.dumps(values))
    with pytest.raises(LaunchConfigError, match=r"gradient accumulation: .* says 32, .* says 256"):
        read_launch_config(folder)
    with pytest.raises(LaunchConfigError, match="does not exist — write one with"):
        read_launch_config(tmp_path / "missing")


# ---- `magitui train --dry-run --json` as a user runs it ---------------------------------------
@dataclass
class DryRun:
    returncode: int
    record: dict[str, Any]
    stderr: str


def train(
    tiny_model: Path, data: Path, out: Path, *options: str, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """`magitui train` as a user types it."""
    base = ["train", "--data", str(data), "--base-model", str(tiny_model), "--out", str(out)]
    command = [*magitui_cmd(), *base, *options]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout)


def dry_run(tiny_model: Path, data: Path, out: Path, *options: str) -> DryRun:
    result = train(tiny_model, data, out, "--dry-run", "--json", *options)
    return DryRun(result.returncode, json.loads(result.stdout), result.stderr)


def test_dry_run_json_for_setup_written_configs(
    isolated: Path, tiny_model: Path, train_file: Path
) -> None:
    out = isolated / "out"
    one = setup_config(
        isolated / "one", gpus=0, use_deepspeed=False, mixed_precision="no", grad_accum=256
    )
    single = dry_run(tiny_model, train_file, out, "--accelerate-config", str(one))
    assert single.returncode == 0, single.stderr
    effective = single.record["effective"]
    assert effective == {
        "recipe": "magicoder",
        "global_batch": 512,
        "per_device_batch": 2,
        "grad_accum": 256,
        "processes": 1,
        "learning_rate": 5e-05,
        "warmup_steps": 15,
        "scheduler": "linear",
        "optimizer": "adafactor",
        "epochs": 2.0,
        "max_len": 1216,
        "precision": "fp32",
        "sampling": "random",
        "packing": False,
        "max_grad_norm": None,
        "attention": "sdpa",
        "max_steps": None,
    }
    assert single.record["launchable"] is True and single.record["errors"] == 0
    assert single.record["command"][3:5] == ["--config_file", str(one)]
    assert "--grad-accum 256 --precision fp32" in single.record["command_line"]
    (small_data,) = single.record["findings"]  # 40 rows for a batch of 512: said, not refused
    assert (
        small_data["level"] == "warning"
        and "each step averages all 40 rows" in (small_data["message"])
    )

    two = setup_config(isolated / "two", gpus=2, zero_stage=2, grad_accum=128, grad_clip=1.0)
    double = dry_run(tiny_model, train_file, out, "--accelerate-config", str(two.parent))
    effective = double.record["effective"]
    assert (effective["processes"], effective["grad_accum"], effective["global_batch"]) == (
        2,
        128,
        512,
    )
    assert (effective["precision"], effective["max_grad_norm"]) == ("bf16", 1.0)
    assert "--grad-accum 128 --precision bf16" in double.record["command_line"]
    # Here, on a machine without 2 GPUs, preflight says so and the launch is refused.
    assert double.returncode == (0 if double.record["launchable"] else 2)

    zero3 = setup_config(
        isolated / "zero3",
        gpus=1,
        zero_stage=3,
        offload_optimizer="cpu",
        offload_params="cpu",
        grad_accum=256,
    )
    offloaded = dry_run(tiny_model, train_file, out, "--accelerate-config", str(zero3))
    assert offloaded.record["effective"]["optimizer"] == "adamw_torch"
    assert {"setting": "optimizer", "value": "adamw_torch", "recipe": "adafactor"} in (
        offloaded.record["deviations"]
    )
    messages = [f["message"] for f in offloaded.record["findings"]]
    substituted = "optimizer adamw_torch instead of the recipe's adafactor"
    assert any(m.startswith(substituted) for m in messages)
    asked = dry_run(
        tiny_model, train_file, out, "--accelerate-config", str(zero3), "--optim", "adafactor"
    )
    assert asked.returncode == 2 and asked.record["launchable"] is False
    (error,) = [f for f in asked.record["findings"] if "adafactor with ZeRO" in f["message"]]
    assert error["level"] == "error" and "--optim adamw_torch" in error["fix"]
    assert not out.exists()


def test_accelerate_config_then_train_is_the_recipe_with_no_options(
    isolated: Path, tiny_model: Path, train_file: Path
) -> None:
    """`magitui accelerate-config --gpus 2` writes the recipe's accumulation; `magitui train`
    with that config and no other option trains README-DEV's batches."""
    folder = isolated / "cfg"
    written = subprocess.run(
        [*magitui_cmd(), "accelerate-config", "--out", str(folder), "--gpus", "2"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert written.returncode == 0, written.stderr
    assert "gradient accumulation 128: the recipe's global batch 512 = 2 per device × 128 × 2 " in (
        written.stderr
    )
    planned = dry_run(tiny_model, train_file, isolated / "out", "--accelerate-config", str(folder))
    effective = planned.record["effective"]
    expected = upstream_effective()
    batch_keys = ("global_batch", "per_device_batch", "grad_accum", "processes")
    assert {k: effective[k] for k in batch_keys} == {k: expected[k] for k in batch_keys}
    assert (effective["optimizer"], effective["precision"]) == ("adafactor", "bf16")


def test_dry_run_refusals(isolated: Path, tiny_model: Path, train_file: Path) -> None:
    out = isolated / "out"
    config = setup_config(isolated / "cfg", gpus=0, zero_stage=2, grad_accum=256)
    conflict = dry_run(
        tiny_model, train_file, out, "--accelerate-config", str(config), "--grad-accum", "64"
    )
    assert conflict.returncode == 1 and conflict.record["launchable"] is False
    message = (
        "--grad-accum 64 conflicts with gradient accumulation 256 in the accelerate config "
        f"({isolated / 'cfg' / 'deepspeed.json'})"
    )
    assert conflict.record["error"].startswith(message) and message in conflict.stderr

    odd = dry_run(tiny_model, train_file, out, "--global-batch", "510", "--per-device-batch", "4")
    assert odd.returncode == 1
    assert "use --global-batch 508 or 512, or --per-device-batch 2 or 3 or 5" in odd.stderr

    raw = isolated / "run" / "generated.jsonl"
    raw.parent.mkdir()
    raw.write_text(json.dumps({"problem": "p", "solution": "s", "seed": "x"}) + "\n")
    unformatted = dry_run(tiny_model, raw, out)
    assert unformatted.returncode == 2
    (finding,) = unformatted.record["findings"]
    assert finding["message"] == (
        f"training data {raw} is not formatted: line 1 has fields problem, seed, solution "
        "(raw generation output), training needs instruction and response"
    )
    assert finding["fix"] == (
        f"format it first: magitui preprocess {raw} --out {raw.parent / 'train.jsonl'}"
    )
    missing = dry_run(tiny_model, isolated / "nope.jsonl", out)
    assert missing.returncode == 2
    assert missing.record["findings"][0]["message"] == (
        f"training data {isolated / 'nope.jsonl'} does not exist"
    )
    assert not out.exists()


def test_human_dry_run_shows_the_effective_settings(
    isolated: Path, tiny_model: Path, train_file: Path
) -> None:
    result = train(tiny_model, train_file, isolated / "out", "--dry-run", "--global-batch", "8")
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert lines[0] == "recipe magicoder (* marks a deviation)"
    assert "  global batch   8 = 2 per device × 4 accumulation × 1 process  * recipe: 512" in lines
    assert "  optimizer      adafactor" in lines and "  clipping       off" in lines
    assert result.stdout.startswith(sys.executable) and "--grad-accum 4" in result.stdout


# ---- a real run: the settings reach the Trainer -------------------------------------------------
def test_config_answers_reach_the_trainer(
    isolated: Path, tiny_model: Path, train_file: Path
) -> None:
    """Accumulation and clipping from a Setup config, under `accelerate launch`, as the
    Trainer itself reports them."""
    answers = {"use_deepspeed": False, "mixed_precision": "no", "grad_accum": 2, "grad_clip": 0.5}
    config = setup_config(isolated / "cfg", gpus=0, **answers)
    out = isolated / "out"
    options = ["--accelerate-config", str(config), "--global-batch", "8", "--per-device-batch"]
    options += ["4", "--max-steps", "2", "--save-steps", "10"]
    result = train(tiny_model, train_file, out, *options, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (
        "log: trainer: 4 per device × 2 accumulation × 1 process, adafactor (Adafactor), "
        "clipping at 0.5, float32 weights" in result.stderr.splitlines()
    )
    card = json.loads((out / "final" / RUN_CARD).read_text())
    effective, trainer = card["effective"], card["trainer"]
    assert (effective["grad_accum"], effective["max_grad_norm"], effective["global_batch"]) == (
        2,
        0.5,
        8,
    )
    assert (trainer["grad_accum"], trainer["max_grad_norm"], trainer["world_size"]) == (2, 0.5, 1)
    assert (trainer["optim"], trainer["optimizer_class"]) == ("adafactor", "Adafactor")
    assert (trainer["per_device_batch"], trainer["warmup_steps"], trainer["scheduler"]) == (
        4,
        15,
        "linear",
    )
    assert {d["setting"] for d in card["deviations"]} == {
        "global_batch",
        "max_grad_norm",
        "precision",
        "attention",
        "max_steps",
    }


# ---- older transformers -----------------------------------------------------------------------
def test_spellings_of_the_declared_minimum_transformers(monkeypatch: pytest.MonkeyPatch) -> None:
    """transformers 4.45 (pyproject's floor) has `group_by_length`, Trainer(tokenizer=) and
    from_pretrained(torch_dtype=); 5.x has `train_sampling_strategy`, processing_class and
    dtype. Checked against 4.45.2's source (training_args.py, trainer.py)."""
    import transformers
    from transformers import Trainer, TrainingArguments

    @dataclass
    class Arguments445:
        group_by_length: bool = False

    class Trainer445:
        def __init__(self, model: object = None, tokenizer: object = None) -> None: ...

    assert sampling_argument(Arguments445, "group_by_length") == {"group_by_length": True}
    assert sampling_argument(Arguments445, "random") == {"group_by_length": False}
    assert sampling_argument(TrainingArguments, "random") == {"train_sampling_strategy": "random"}
    assert tokenizer_argument(Trainer445, "tok") == {"tokenizer": "tok"}
    assert tokenizer_argument(Trainer, "tok") == {"processing_class": "tok"}
    assert set(model_loading_arguments("bf16", None)) == {"dtype"}
    monkeypatch.setattr(transformers, "__version__", "4.45.2")
    assert set(model_loading_arguments("bf16", "sdpa")) == {"torch_dtype", "attn_implementation"}
    assert model_loading_arguments("fp32", None) == {}


def test_packing_without_a_mask_interface_is_flash_attention_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without transformers' masking_utils (4.45–4.49 have none) only flash attention reads
    packed position ids; eager and sdpa would let packed examples see each other."""
    from magitui_core.training.packing import packing_attention_implementations

    assert {"sdpa", "eager", "flash_attention_2"} <= packing_attention_implementations()
    monkeypatch.setitem(sys.modules, "transformers.masking_utils", None)
    assert packing_attention_implementations() == {"flash_attention_2"}


def test_the_train_screen_reads_the_effective_settings_from_events() -> None:
    from magitui_core.training.recipe import effective_summary
    from magitui_core.training.series import TrainSeries

    record = resolve_launch(
        request(Path("/tmp"), num_processes=2), TWO_A100, flash_installed=True
    ).effective
    series = TrainSeries()
    assert series.feed([{"type": "log", "message": "recipe magicoder: …", "effective": record}])
    assert series.effective == record
    assert effective_summary(record) == (
        "magicoder: batch 512 (2×128×2), adafactor, lr 5e-05, bf16, flash_attention_2, packed"
    )
