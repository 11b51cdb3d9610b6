"""Preflight: each walkthrough mistake is caught from a real configuration."""

from __future__ import annotations

import json
import socket
import sys
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from magitui_core.training.accelerate_config import AccelerateSettings
from magitui_core.training.memory_advisor import ModelShape, offload_problem, optimizer_kind
from magitui_core.training.preflight import (
    Machine,
    check_gated_model,
    check_optimizer,
    check_transformer_engine,
    preflight,
)
from magitui_core.training.settings import TrainSettings
from tests.setup.loopback_hub import loopback_hub

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
        "is 1 optimizer step(s) per epoch, 2 in all; each step averages all 1000 rows, not 6144"
    )
    assert "--global-batch" in findings[1].fix


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
    # AdamW: the optimizer that runs under offload (the recipe's Adafactor would be refused).
    (finding,) = preflight(settings(optim="adamw_torch"), offload, small_ram, 75_000, SHAPE_6_7B)
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


class GatedHub(BaseHTTPRequestHandler):
    """The Hub's model-info endpoint on 127.0.0.1, answering as huggingface.co does for
    gated, open and missing models (a gated repo's files answer 401/403 + X-Error-Code)."""

    requests: list[str] = []

    def do_GET(self) -> None:
        if self.path.startswith("/api/models/"):  # huggingface_hub asks for more on its own
            self.requests.append(self.path)
        name = self.path.removeprefix("/api/models/").split("?")[0]
        status, headers, body = 404, {"X-Error-Code": "RepoNotFound"}, {"error": "not found"}
        if name in ("org/gated-401", "org/gated-403"):
            status, headers = int(name[-3:]), {"X-Error-Code": "GatedRepo"}
            body = {"error": "Access to model org/gated is restricted."}
        elif name in ("org/gated-info", "org/open"):
            status, headers = 200, {}
            body = {"id": name, "gated": "manual" if name == "org/gated-info" else False}
        data = json.dumps(body).encode()
        self.send_response(status)
        for key, value in {**headers, "Content-Type": "application/json"}.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def gated_hub(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """A loopback Hub at HF_ENDPOINT; yields the model-info paths it was asked for."""
    GatedHub.requests = []
    with loopback_hub(GatedHub, monkeypatch):
        yield GatedHub.requests


@pytest.mark.parametrize("model", ["org/gated-401", "org/gated-403", "org/gated-info"])
def test_gated_model_without_token_blocks_the_launch(gated_hub: list[str], model: str) -> None:
    (finding,) = check_gated_model(model)
    assert finding.level == "error"
    assert finding.message == f"base model {model} is gated and no Hugging Face token is set"
    assert f"huggingface.co/{model}" in finding.fix
    assert "`magitui credentials set hf_token`" in finding.fix
    assert gated_hub == [f"/api/models/{model}"]


def test_open_and_missing_models(gated_hub: list[str]) -> None:
    assert check_gated_model("org/open") == []
    (missing,) = check_gated_model("org/typo")
    assert missing.level == "error" and "not on the Hub" in missing.message


def test_no_network_call_when_the_answer_is_known(
    gated_hub: list[str], isolated: Path, tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert check_gated_model(str(tiny_model)) == []  # a local folder
    # Already in the cache (the hub's own layout): downloading it once means access was granted.
    repo = isolated / "hf" / "hub" / "models--org--gated-401"
    commit = "0" * 40
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    (repo / "snapshots" / commit).mkdir(parents=True)
    (repo / "snapshots" / commit / "config.json").write_text("{}")
    assert check_gated_model("org/gated-401") == []
    monkeypatch.setenv("HF_TOKEN", "hf_" + "x" * 34)  # a token: the download can authenticate
    assert check_gated_model("org/gated-403") == []
    monkeypatch.delenv("HF_TOKEN")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    (offline,) = check_gated_model("org/gated-403")
    assert offline.level == "warning"
    assert offline.message == "could not check whether base model org/gated-403 is gated (offline)"
    assert gated_hub == []


def test_unreachable_hub_is_a_warning(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there now: connection refused, as with no network
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    (finding,) = check_gated_model("org/gated-401", timeout=2)
    assert finding.level == "warning" and finding.message.endswith("is gated (offline)")


def test_eight_bit_adamw_with_offload_is_a_warning_adafactor_an_error() -> None:
    offload = AccelerateSettings(gpus=2, zero_stage=2, offload_optimizer="cpu")
    (eight_bit,) = check_optimizer(settings(optim="adamw_bnb_8bit"), offload)
    assert eight_bit.level == "warning" and "8-bit memory saving is lost" in eight_bit.message
    (adafactor,) = check_optimizer(settings(optim="adafactor"), offload)
    assert adafactor.level == "error"
    assert check_optimizer(settings(optim="adamw_torch_fused"), offload) == []
    no_offload = AccelerateSettings(gpus=2, zero_stage=2)
    assert check_optimizer(settings(optim="adafactor"), no_offload) == []
    # The advisor refuses exactly these combinations.
    assert offload_problem(optimizer_kind("adafactor") or "adamw")
    assert offload_problem(optimizer_kind("adamw_bnb_8bit") or "adamw")
    assert not offload_problem(optimizer_kind("adamw_torch") or "adamw")


def test_magitui_train_refuses_a_gated_model_before_any_job(
    gated_hub: list[str], train_file: Path, isolated: Path
) -> None:
    """The same check guards `magitui train`: nothing starts, the message says what to do."""
    import subprocess

    from tests.conftest import magitui_cmd

    base = ["train", "--data", str(train_file), "--out", str(isolated / "out"), "--dry-run"]
    refused = subprocess.run(
        [*magitui_cmd(), *base, "--base-model", "org/gated-403"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert refused.returncode == 2, refused.stderr
    assert "error: base model org/gated-403 is gated and no Hugging Face token is set" in (
        refused.stderr
    )
    assert "huggingface.co/org/gated-403" in refused.stderr
    assert not (isolated / "out").exists()
