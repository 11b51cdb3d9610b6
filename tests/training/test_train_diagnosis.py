"""Crash diagnosis from real failing runs where this machine can produce them, else from the
lines those failures print (recorded on GPU machines)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from magitui_core.jobs.manager import JobManager
from magitui_core.training.diagnosis import diagnose
from tests.conftest import wait_until_ended

RECORDED = {
    "adafactor": (
        "TypeError: adam_update(): incompatible function arguments. The following argument "
        "types are supported:",
        "--optim adamw_torch",
    ),
    "oom": (
        "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has a "
        "total capacity of 139.81 GiB",
        "--gradient-checkpointing",
    ),
    "disk": ("OSError: [Errno 28] No space left on device", "magitui cache scan"),
    "port": (
        "torch.distributed.DistNetworkError: The server socket has failed to listen on any "
        "local network address. port: 29500, useIpv6: 0, code: -98, name: EADDRINUSE",
        "main_process_port",
    ),
    "nccl": (
        "torch.distributed.DistBackendError: NCCL error in: ProcessGroupNCCL.cpp:1970, "
        "unhandled system error, NCCL version 2.21.5",
        "NCCL_DEBUG=INFO",
    ),
    "transformer_engine": (
        "ImportError: /usr/local/lib/python3.10/dist-packages/transformer_engine_extensions."
        "cpython-310-x86_64-linux-gnu.so: undefined symbol: _ZN3c10",
        "pip uninstall -y transformer-engine",
    ),
    "gated": (
        "huggingface_hub.errors.GatedRepoError: 401 Client Error. Cannot access gated repo for "
        "url https://huggingface.co/meta-llama/Llama-3.1-8B/resolve/main/config.json.",
        "magitui credentials set hf_token",
    ),
}


@pytest.mark.parametrize("name", RECORDED)
def test_recorded_failures_are_recognised(name: str) -> None:
    line, fix_hint = RECORDED[name]
    log = ["step 1/100 loss 1.2", "Traceback (most recent call last):", '  File "x.py"', line]
    diagnosis = diagnose(log)
    assert diagnosis is not None and fix_hint in diagnosis.fix
    assert diagnosis.evidence == line


def test_a_clean_log_has_no_diagnosis() -> None:
    assert diagnose(["step 1/4 loss 6.0", "done"]) is None


def test_the_last_error_wins() -> None:
    lines = [RECORDED["port"][0], "retrying on another port", RECORDED["oom"][0]]
    diagnosis = diagnose(lines)
    assert diagnosis is not None and "out of memory" in diagnosis.cause


def test_a_real_run_on_raw_data_is_diagnosed(
    jobs: JobManager, tiny_model: Path, tmp_path: Path
) -> None:
    raw = tmp_path / "generated.jsonl"
    raw.write_text('{"problem": "p", "solution": "s"}\n')
    job = jobs.start(
        [
            sys.executable,
            "-m",
            "magitui_core.training.sft",
            "--data",
            str(raw),
            "--base-model",
            str(tiny_model),
            "--out",
            str(tmp_path / "out"),
        ]
    )
    info = wait_until_ended(jobs, job.id, 120, "training")
    diagnosis = diagnose(info.tail(40))
    assert diagnosis is not None
    assert diagnosis.fix == "format it first: magitui preprocess IN.jsonl --out train.jsonl"
