"""Training settings: the Magicoder recipe's defaults (see ``recipe``), validated, and the
entry point's command line.

With no options the entry point trains as upstream's README-DEV command: global batch 512 of
2 per device (accumulation derived from the processes running), Adafactor, lr 5e-5, 15
warm-up steps, linear decay, no clipping, 2 epochs, 1216 tokens, random batches, bf16 where
the GPU has it, flash attention where installed. Every deviation is an explicit value.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from magitui_core.training.recipe import MAGICODER, BatchPlan, effective

# "bf16" is the recipe's: bfloat16 weights under bf16 autocast (upstream loads the model with
# torch_dtype=bfloat16 and passes --bf16 True). "bf16-mixed" keeps fp32 weights under bf16
# autocast: more memory, more precise updates. "auto": bf16 where every GPU has it, else fp32.
Precision = Literal["auto", "bf16", "bf16-mixed", "fp16", "fp32"]
PRECISIONS: tuple[str, ...] = ("auto", "bf16", "bf16-mixed", "fp16", "fp32")
Sampling = Literal["random", "group_by_length"]
SAMPLINGS: tuple[str, ...] = ("random", "group_by_length")
# "auto": pack where the attention kernel is flash attention (varlen: no padding computed),
# else pad; "on" packs with any kernel that keeps packed examples apart (refused otherwise).
Packing = Literal["auto", "on", "off"]
PACKINGS: tuple[str, ...] = ("auto", "on", "off")
ATTENTIONS: tuple[str, ...] = ("auto", "flash_attention_2", "flash_attention_3", "sdpa", "eager")


class TrainSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    data: list[Path] = Field(description="instruction/response JSONL files")
    base_model: str = Field(description="HF model id or local folder")
    out: Path = Field(description="output folder: checkpoints/ and final/")
    epochs: float = Field(MAGICODER.epochs, gt=0)
    learning_rate: float = Field(MAGICODER.learning_rate, gt=0)
    lr_scheduler: str = MAGICODER.scheduler
    warmup_steps: int = Field(MAGICODER.warmup_steps, ge=0)
    max_grad_norm: float | None = Field(
        MAGICODER.max_grad_norm,
        description="gradient clipping; None (or ≤ 0, as upstream's -1) = off",
    )
    max_seq_len: int = Field(MAGICODER.max_len, ge=16, description="max_training_seq_length")
    global_batch: int = Field(MAGICODER.global_batch, ge=1, description="rows per optimizer step")
    per_device_batch: int = Field(MAGICODER.per_device_batch, ge=1)
    grad_accum: int | None = Field(
        None, ge=1, description="None: global batch ÷ (processes × per-device batch)"
    )
    precision: Precision = "auto"
    attention: str = Field("auto", description="auto: flash attention 2 where installed")
    sampling: Sampling = "random"
    gradient_checkpointing: bool = False
    packing: Packing = "auto"
    optim: str = MAGICODER.optimizer
    save_steps: int = Field(500, ge=1)
    save_total_limit: int | None = Field(2, ge=1)
    logging_steps: int = Field(1, ge=1)
    max_steps: int = Field(-1, description="stop after this many optimizer steps (-1: epochs)")
    seed: int = 42
    resume: bool = Field(False, description="continue from the newest checkpoint in out/")
    notes: list[str] = Field(
        default_factory=list, description="why a setting differs from the recipe (run card)"
    )

    @field_validator("max_grad_norm")
    @classmethod
    def _clipping_off(cls, value: float | None) -> float | None:
        # Upstream writes "no clipping" as --max_grad_norm -1; HF Trainer clips only above 0.
        return None if value is None or value <= 0 else value

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
        "prompt and recipe. Runs plainly or under `accelerate launch`.",
    )
    add = parser.add_argument
    add("--data", type=Path, nargs="+", required=True, help="instruction/response JSONL file(s)")
    add("--base-model", required=True, help="HF model id or local folder")
    add("--out", type=Path, required=True, help="output folder")
    add("--epochs", type=float, default=MAGICODER.epochs)
    add("--learning-rate", "--lr", type=float, default=MAGICODER.learning_rate)
    add("--lr-scheduler", default=MAGICODER.scheduler)
    add("--warmup-steps", type=int, default=MAGICODER.warmup_steps)
    add("--max-grad-norm", type=float, default=None, help="clip gradients (default: off)")
    add("--max-seq-len", type=int, default=MAGICODER.max_len)
    add("--global-batch", type=int, default=MAGICODER.global_batch, help="rows per step")
    add("--per-device-batch", type=int, default=MAGICODER.per_device_batch)
    add(
        "--grad-accum",
        type=int,
        default=None,
        help="default: global batch ÷ (processes × per-device batch); given: must multiply out",
    )
    add("--precision", choices=PRECISIONS, default="auto")
    add("--attention", default="auto", help=f"one of {', '.join(ATTENTIONS)}, or any registered")
    add("--sampling", choices=SAMPLINGS, default=MAGICODER.sampling)
    add("--gradient-checkpointing", action="store_true")
    add(
        "--packing",
        choices=PACKINGS,
        nargs="?",
        const="on",
        default="auto",
        help="pack each batch's examples into one row without padding, kept apart by position "
        "ids; auto: with flash attention only (bare --packing: on)",
    )
    add("--optim", default=MAGICODER.optimizer)
    add("--save-steps", type=int, default=500)
    add("--save-total-limit", type=int, default=2)
    add("--logging-steps", type=int, default=1)
    add("--max-steps", type=int, default=-1)
    add("--seed", type=int, default=42)
    add("--resume", action="store_true", help="continue from the newest checkpoint")
    add(
        "--note",
        dest="notes",
        action="append",
        default=[],
        help="why a setting differs from the recipe; kept in the run card (repeatable)",
    )
    return parser


def parse_settings(argv: list[str] | None = None) -> TrainSettings:
    args = argument_parser().parse_args(argv)
    return TrainSettings(**vars(args))


def effective_of(
    settings: TrainSettings, plan: BatchPlan, *, precision: str, packing: bool, attention: str
) -> dict[str, Any]:
    """The `effective` record of these settings (the dry run and the run card share it)."""
    return effective(
        plan,
        learning_rate=settings.learning_rate,
        warmup_steps=settings.warmup_steps,
        scheduler=settings.lr_scheduler,
        optimizer=settings.optim,
        epochs=settings.epochs,
        max_len=settings.max_seq_len,
        precision=precision,
        sampling=settings.sampling,
        packing=packing,
        max_grad_norm=settings.max_grad_norm,
        attention=attention,
        max_steps=settings.max_steps,
    )
