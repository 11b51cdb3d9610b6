"""accelerate + DeepSpeed configs: validated answers, files accelerate's own loader reads,
and a real `accelerate launch --config_file` run of the tiny model."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from pydantic import ValidationError

from magitui_core.training.accelerate_config import (
    MULTINODE_LAUNCHERS,
    AccelerateSettings,
    load_answers,
    write_configs,
)
from tests.conftest import magitui_cmd


def load_with_accelerate(path: Path):
    from accelerate.commands.config.config_args import load_config_from_file

    return load_config_from_file(str(path))


def test_single_gpu_zero3_offload(tmp_path: Path) -> None:
    settings = AccelerateSettings(
        gpus=1, zero_stage=3, offload_optimizer="cpu", offload_params="cpu"
    )
    yaml_path, json_path = write_configs(settings, tmp_path)
    config = load_with_accelerate(yaml_path)
    assert config.distributed_type.value == "DEEPSPEED"
    assert config.num_processes == 1
    assert config.deepspeed_config["deepspeed_config_file"] == str(json_path.resolve())
    assert config.deepspeed_config["zero3_init_flag"] is True
    zero = json.loads(json_path.read_text())["zero_optimization"]
    assert zero["stage"] == 3
    assert zero["offload_optimizer"]["device"] == zero["offload_param"]["device"] == "cpu"
    # Without this ZeRO-3 saves no usable model.
    assert zero["stage3_gather_16bit_weights_on_model_save"] is True
    assert load_answers(tmp_path) == settings  # the wizard reopens with the same answers
    assert load_answers(tmp_path / "elsewhere") is None


def test_multi_node(tmp_path: Path) -> None:
    settings = AccelerateSettings(
        num_machines=2,
        machine_rank=1,
        main_process_ip="10.0.0.2",
        main_process_port=29600,
        gpus=8,
        use_deepspeed=False,
    )
    yaml_path, _ = write_configs(settings, tmp_path)
    config = load_with_accelerate(yaml_path)
    assert config.distributed_type.value == "MULTI_GPU"
    assert (config.num_processes, config.num_machines, config.machine_rank) == (16, 2, 1)
    assert (config.main_process_ip, config.main_process_port) == ("10.0.0.2", 29600)
    assert config.mixed_precision == "bf16"
    assert not (tmp_path / "deepspeed.json").exists()


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        (
            {"num_machines": 2, "machine_rank": 2, "main_process_ip": "10.0.0.1"},
            "machine_rank 2 must be below num_machines 2",
        ),
        ({"num_machines": 2}, "main_process_ip is needed"),
        ({"num_machines": 2, "main_process_ip": "head-node"}, "'head-node' is not an IP"),
        ({"main_process_ip": "not-an-ip"}, "'not-an-ip' is not an IP"),  # one machine too
        ({"zero_stage": 2, "offload_params": "cpu"}, "offloading parameters needs ZeRO stage 3"),
        ({"zero_stage": 0, "offload_optimizer": "cpu"}, "needs ZeRO stage 1, 2 or 3"),
        ({"zero_stage": 3, "offload_params": "nvme"}, "NVMe offload needs nvme_path"),
        ({"main_process_port": 80}, "greater than or equal to 1024"),
    ],
)
def test_bad_answers_are_named(answers: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        AccelerateSettings(**answers)


def test_cli_writes_both_files_and_refuses_bad_input(isolated: Path) -> None:
    out = isolated / "cfg"
    ok = subprocess.run(
        [
            *magitui_cmd(),
            "accelerate-config",
            "--out",
            str(out),
            "--gpus",
            "0",
            "--zero-stage",
            "2",
            "--offload-optimizer",
            "cpu",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.split() == [str(out / "accelerate.yaml"), str(out / "deepspeed.json")]
    bad = subprocess.run(
        [*magitui_cmd(), "accelerate-config", "--out", str(out), "--offload-params", "cpu"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 1
    assert "offloading parameters needs ZeRO stage 3" in bad.stderr
    for args, message in (
        (["--advise", "/no/such/dir"], "model folder /no/such/dir does not exist"),
        (["--main-ip", "not-an-ip"], "'not-an-ip' is not an IP address"),
    ):
        refused = subprocess.run(
            [*magitui_cmd(), "accelerate-config", "--out", str(isolated / "other"), *args],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert refused.returncode == 1 and message in refused.stderr, refused.stderr
        assert "Traceback" not in refused.stderr
        assert not (isolated / "other").exists()


@pytest.mark.slow
def test_generated_config_launches_real_training(
    isolated: Path, tiny_model: Path, train_file: Path
) -> None:
    """ZeRO-2 with CPU optimizer offload through `accelerate launch --config_file` on the CPU."""
    yaml_path, _ = write_configs(
        AccelerateSettings(gpus=0, zero_stage=2, offload_optimizer="cpu", mixed_precision="no"),
        isolated / "cfg",
    )
    result = subprocess.run(
        [
            *magitui_cmd(),
            "train",
            "--data",
            str(train_file),
            "--base-model",
            str(tiny_model),
            "--out",
            str(isolated / "out"),
            "--max-steps",
            "2",
            "--global-batch",
            "4",
            "--per-device-batch",
            "4",
            "--accelerate-config",
            str(yaml_path),
        ],
        capture_output=True,
        text=True,
        timeout=540,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "done: trained 2 steps" in result.stderr
    # The recipe's Adafactor cannot run under optimizer offload: named, then replaced.
    assert "warning: optimizer adamw_torch instead of the recipe's adafactor" in result.stderr
    assert "adamw_torch (DeepSpeedCPUAdam)" in result.stderr
    assert (isolated / "out" / "final" / "model.safetensors").exists()


def test_multi_node_deepspeed_names_its_launcher(tmp_path: Path) -> None:
    settings = AccelerateSettings(
        num_machines=2,
        machine_rank=0,
        main_process_ip="10.0.0.2",
        gpus=8,
        zero_stage=3,
        multinode_launcher="pdsh",
    )
    yaml_path, _ = write_configs(settings, tmp_path)
    config = load_with_accelerate(yaml_path)
    assert config.deepspeed_config["deepspeed_multinode_launcher"] == "pdsh"
    single, _ = write_configs(AccelerateSettings(gpus=1), tmp_path / "single")
    assert "deepspeed_multinode_launcher" not in load_with_accelerate(single).deepspeed_config


def test_launcher_choices_are_accelerates() -> None:
    """The wizard's and the CLI's launcher options, as accelerate itself lists them."""
    from accelerate.utils.constants import DEEPSPEED_MULTINODE_LAUNCHERS

    ordered = [name for name in DEEPSPEED_MULTINODE_LAUNCHERS if name in MULTINODE_LAUNCHERS]
    assert ordered == list(MULTINODE_LAUNCHERS)
    assert {"pdsh", "standard", "openmpi", "mvapich", "mpich", "nossh"} == set(ordered)


def accelerate_config_cli(out: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*magitui_cmd(), "accelerate-config", "--out", str(out), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_cli_advisor_chooses_the_stage_for_the_optimizer(isolated: Path, tiny_model: Path) -> None:
    """The Setup screen's advisor headless: a 6.7 B model on 2 × 24 GiB needs CPU offload
    with AdamW; Adafactor cannot offload, so nothing fits unless the stage is given."""
    small = ("--gpus", "2", "--gpu-memory", "24", "--cpu-memory", "400", "--per-device-batch", "1")
    adamw = accelerate_config_cli(
        isolated / "adamw", "--advise", "6.7B", "--optim", "adamw_torch", *small
    )
    assert adamw.returncode == 0, adamw.stderr
    assert "6.70 B parameters, AdamW" in adamw.stderr
    assert "★ ZeRO-2 + optimizer on CPU: the fastest that fits; train with --optim adamw_torch" in (
        adamw.stderr
    )
    zero = json.loads((isolated / "adamw" / "deepspeed.json").read_text())["zero_optimization"]
    assert (zero["stage"], zero["offload_optimizer"]["device"]) == (2, "cpu")

    # The former spellings (--optimizer, --micro-batch) still work for one release.
    old_small = ("--gpus", "2", "--gpu-memory", "24", "--cpu-memory", "400", "--micro-batch", "1")
    adafactor = ("--advise", "6.7B", "--optimizer", "adafactor", *old_small)
    refused = accelerate_config_cli(isolated / "adafactor", *adafactor)
    assert refused.returncode == 1 and "crashes CPU Adam" in refused.stderr
    assert "Error: nothing fits" in refused.stderr
    assert not (isolated / "adafactor").exists()
    # A stage given by hand wins; the advice is still printed.
    given = accelerate_config_cli(isolated / "adafactor", *adafactor, "--zero-stage", "3")
    assert given.returncode == 0 and "nothing fits" in given.stderr
    zero = json.loads((isolated / "adafactor" / "deepspeed.json").read_text())["zero_optimization"]
    assert zero["stage"] == 3 and "offload_optimizer" not in zero

    # A real model folder on this GPU-less machine: the advisor asks for the GPU's memory.
    no_gpu = accelerate_config_cli(isolated / "tiny", "--advise", str(tiny_model))
    assert no_gpu.returncode == 1 and "--gpu-memory is missing — no GPU here" in no_gpu.stderr
    tiny = accelerate_config_cli(
        isolated / "tiny", "--advise", str(tiny_model), "--gpu-memory", "8"
    )
    assert tiny.returncode == 0, tiny.stderr
    assert "★ ZeRO-0: the fastest that fits" in tiny.stderr
