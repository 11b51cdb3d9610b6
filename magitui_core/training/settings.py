"""Training settings: the Magicoder recipe's defaults, validated, and their command line.

Defaults follow the walkthrough's `accelerate launch -m magicoder.train` command, updated for
current transformers (group_by_length is now a sampling strategy) and without its traps:
Adafactor is not the default (it crashes DeepSpeed's CPU Adam under ZeRO offload).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class TrainSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    data: list[Path] = Field(description="instruction/response JSONL files")
    base_model: str = Field(description="HF model id or local folder")
    out: Path = Field(description="output folder: checkpoints/ and final/")
    epochs: float = Field(2.0, gt=0)
    learning_rate: float = Field(5e-5, gt=0)
    lr_scheduler: str = "linear"
    warmup_steps: int = Field(15, ge=0)
    max_grad_norm: float | None = Field(None, description="gradient clipping; None = off")
    max_seq_len: int = Field(1216, ge=16, description="max_training_seq_length")
    per_device_batch: int = Field(8, ge=1)
    grad_accum: int = Field(1, ge=1)
    precision: Literal["auto", "bf16", "fp16", "fp32"] = "auto"
    sampling: Literal["group_by_length", "random"] = "group_by_length"
    gradient_checkpointing: bool = False
    packing: bool = Field(
        False, description="padding-free packing of each batch (needs a packing-aware attention)"
    )
    optim: str = "adamw_torch"
    save_steps: int = Field(500, ge=1)
    save_total_limit: int | None = Field(2, ge=1)
    logging_steps: int = Field(1, ge=1)
    max_steps: int = Field(-1, description="stop after this many optimizer steps (-1: epochs)")
    seed: int = 42
    resume: bool = Field(False, description="continue from the newest checkpoint in out/")

    @property
    def checkpoints_dir(self) -> Path:
        return self.out / "checkpoints"

    @property
    def final_dir(self) -> Path:
        return self.out / "final"


def argument_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m magitui_core.training.sft",
        description="Supervised fine-tuning on instruction/response JSONL with the Magicoder "
        "prompt. Runs plainly or under `accelerate launch`.",
    )
    add = parser.add_argument
    add("--data", type=Path, nargs="+", required=True, help="instruction/response JSONL file(s)")
    add("--base-model", required=True, help="HF model id or local folder")
    add("--out", type=Path, required=True, help="output folder")
    add("--epochs", type=float, default=2.0)
    add("--learning-rate", "--lr", type=float, default=5e-5)
    add("--lr-scheduler", default="linear")
    add("--warmup-steps", type=int, default=15)
    add("--max-grad-norm", type=float, default=None, help="clip gradients (default: off)")
    add("--max-seq-len", type=int, default=1216)
    add("--per-device-batch", type=int, default=8)
    add("--grad-accum", type=int, default=1)
    add("--precision", choices=["auto", "bf16", "fp16", "fp32"], default="auto")
    add("--sampling", choices=["group_by_length", "random"], default="group_by_length")
    add("--gradient-checkpointing", action="store_true")
    add(
        "--packing",
        action="store_true",
        help="pack each batch's examples into one row without padding, kept apart by "
        "position ids (eager, sdpa, flex or flash attention)",
    )
    add("--optim", default="adamw_torch")
    add("--save-steps", type=int, default=500)
    add("--save-total-limit", type=int, default=2)
    add("--logging-steps", type=int, default=1)
    add("--max-steps", type=int, default=-1)
    add("--seed", type=int, default=42)
    add("--resume", action="store_true", help="continue from the newest checkpoint")
    return parser


def parse_settings(argv: list[str] | None = None) -> TrainSettings:
    args = argument_parser().parse_args(argv)
    return TrainSettings(**vars(args))
