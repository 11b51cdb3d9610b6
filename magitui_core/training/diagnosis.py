"""Why a training job failed, and what to do about it, recognised from its log.

Each rule matches the line a known failure prints; the first rule that matches the log
(searched from the end, where the fatal error is) gives the cause and the fix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Diagnosis:
    cause: str
    fix: str
    evidence: str  # the log line that gave it away


@dataclass(frozen=True)
class _Rule:
    pattern: re.Pattern[str]
    cause: str
    fix: str


def _rule(pattern: str, cause: str, fix: str) -> _Rule:
    return _Rule(re.compile(pattern, re.IGNORECASE), cause, fix)


RULES: tuple[_Rule, ...] = (
    _rule(
        r"adam_update\(\): incompatible function arguments",
        "Adafactor (or another non-Adam optimizer) with DeepSpeed ZeRO CPU offload: DeepSpeed "
        "swaps in its CPU Adam, which cannot take Adafactor's settings",
        "train with --optim adamw_torch, or set zero_force_ds_cpu_optimizer: false in the "
        "DeepSpeed config",
    ),
    _rule(
        r"transformer_engine.*undefined symbol|undefined symbol.*transformer_engine",
        "a broken transformer_engine install (built for another torch) breaks accelerate",
        "pip uninstall -y transformer-engine transformer_engine (magitui does not need it)",
    ),
    _rule(
        r"CUDA out of memory|OutOfMemoryError|CUBLAS_STATUS_ALLOC_FAILED",
        "the GPU ran out of memory",
        "lower --per-device-batch (raise --grad-accum to keep the effective batch), add "
        "--gradient-checkpointing, or use ZeRO-3 with CPU offload (Setup screen's memory advisor)",
    ),
    _rule(
        r"No space left on device|Errno 28",
        "the disk is full (checkpoints and the Hugging Face cache share it)",
        "free space: magitui cache scan / the Monitor screen, lower save_total_limit, or put "
        "--out and HF_HOME on a larger volume",
    ),
    _rule(
        r"address already in use|EADDRINUSE",
        "the distributed rendezvous port is taken (another training run, or a stale one)",
        "stop the other run (magitui jobs) or choose another main_process_port",
    ),
    _rule(
        r"\bNCCL\b.*(error|failure|timeout)|nccl(System|Internal|Invalid)",
        "NCCL (GPU-to-GPU communication) failed",
        "rerun with NCCL_DEBUG=INFO to see why; on one machine try NCCL_P2P_DISABLE=1; across "
        "machines check that they reach each other on the main process port",
    ),
    _rule(
        r"GatedRepoError|Access to model .* is restricted|401 Client Error|"
        r"You are trying to access a gated repo",
        "the base model is gated and this machine has no Hugging Face token with access",
        "accept the model's license on its Hub page, then magitui credentials set hf_token "
        "(or set HF_TOKEN)",
    ),
    _rule(
        r"needs fields instruction, response",
        "the data file is not in instruction/response format",
        "format it first: magitui preprocess IN.jsonl --out train.jsonl",
    ),
    _rule(
        r"training data .* does not exist|cannot read training data|no usable rows",
        "the training data file is missing or empty",
        "point --data at the formatted file written by magitui preprocess",
    ),
)


def diagnose(lines: list[str]) -> Diagnosis | None:
    """The cause and fix of a failed training run, from its output lines.

    Rules are ordered from most to least specific, since one line can match several.
    """
    for line in reversed(lines):
        for rule in RULES:
            if rule.pattern.search(line):
                return Diagnosis(rule.cause, rule.fix, line.strip())
    return None
