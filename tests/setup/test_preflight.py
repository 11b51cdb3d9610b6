"""Preflight: each walkthrough mistake is caught from a real configuration."""

from __future__ import annotations

import sys
from pathlib import Path

from magitui_core.accelerate_setup import AccelerateSettings
from magitui_core.memory_advisor import ModelShape
from magitui_core.preflight import Machine, check_transformer_engine, preflight
from magitui_core.train_settings import TrainSettings

GB = 1024**3
H200x2 = Machine(
    gpu_count=2, gpu_memory=141 * GB, bf16=True, cpu_memory=1000 * GB, free_disk=2000 * GB
)
SHAPE_6_7B = ModelShape(6_740_000_000, 32256 * 4096, 4096, 32)


def settings(**changes: object) -> TrainSettings:
    return TrainSettings(data=[Path("train.jsonl")], base_model="m", out=Path("out"), **changes)


def test_the_walkthrough_settings_are_caught() -> None:
    """24 per device × 128 accumulation × 2 GPUs on ~1000 rows, Adafactor, ZeRO-3 offload."""
    train = settings(per_device_batch=24, grad_accum=128, optim="adafactor")
    accel = AccelerateSettings(gpus=2, zero_stage=3, offload_optimizer="cpu", offload_params="cpu")
    findings = preflight(train, accel, H200x2, rows=1000, shape=SHAPE_6_7B)
    assert [f.level for f in findings] == ["error", "warning"]
    assert "adafactor with ZeRO optimizer offload" in findings[0].message
    assert "--optim adamw_torch" in findings[0].fix
    assert findings[1].message == (
        "effective batch 6144 (24 per device × 128 accumulation × 2 processes) on 1000 rows "
        "is 1 optimizer step(s) per epoch, 2 in all"
    )


def test_a_sound_setup_passes() -> None:
    accel = AccelerateSettings(gpus=2, zero_stage=2)
    assert (
        preflight(settings(per_device_batch=8), accel, H200x2, rows=75_000, shape=SHAPE_6_7B) == []
    )


def test_hardware_mismatches() -> None:
    old_gpus = Machine(
        gpu_count=1, gpu_memory=16 * GB, bf16=False, cpu_memory=32 * GB, free_disk=10 * GB
    )
    accel = AccelerateSettings(gpus=2, zero_stage=0, mixed_precision="bf16")
    messages = [f.message for f in preflight(settings(), accel, old_gpus, 75_000, SHAPE_6_7B)]
    assert "2 GPUs requested, 1 present" in messages
    assert any("no bfloat16" in m for m in messages)
    assert any(m.startswith("model states need about") for m in messages)
    assert any("checkpoint(s) plus the final model" in m for m in messages)
    offload = AccelerateSettings(
        gpus=1, zero_stage=3, offload_optimizer="cpu", offload_params="cpu", mixed_precision="fp16"
    )
    small_ram = Machine(1, 80 * GB, True, 64 * GB, 2000 * GB)
    (finding,) = preflight(settings(), offload, small_ram, 75_000, SHAPE_6_7B)
    assert finding.message.startswith("needs about 169 GiB of CPU memory")


def test_broken_transformer_engine_is_detected(tmp_path: Path) -> None:
    """A real import failure with the loader's message, from a package on the path."""
    package = tmp_path / "transformer_engine"
    package.mkdir()
    (package / "__init__.py").write_text(
        "raise ImportError('/x/transformer_engine_extensions.so: undefined symbol: _ZN3c10')\n"
    )
    wrapper = tmp_path / "python"
    wrapper.write_text(f'#!/bin/sh\nPYTHONPATH={tmp_path} exec {sys.executable} "$@"\n')
    wrapper.chmod(0o755)
    (finding,) = check_transformer_engine(str(wrapper))
    assert finding.fix.endswith("-m pip uninstall -y transformer-engine transformer_engine")
    assert check_transformer_engine() == []  # not installed here: nothing to report


def test_no_data_yet_skips_only_the_batch_check() -> None:
    train = settings(per_device_batch=24, grad_accum=128, optim="adafactor")
    accel = AccelerateSettings(gpus=2, zero_stage=2, offload_optimizer="cpu")
    findings = preflight(train, accel, H200x2, rows=None, shape=SHAPE_6_7B)
    assert [f.level for f in findings] == ["error"]  # the optimizer, no batch warning
