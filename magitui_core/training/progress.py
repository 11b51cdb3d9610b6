"""Training progress as JSON events, written by rank 0 only.

HF Trainer's own log lines are dict reprs with numbers as strings; this callback turns each log
step into a typed `metric` event (loss, lr, grad_norm, real tokens/s, ETA, GPU memory) that the
Train screen and the CLI read.
"""

from __future__ import annotations

import time
from typing import Any

from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments

from magitui_core.jobs.events import EventWriter
from magitui_core.training.sft_data import CountingCollator, PackingCollator


def gpu_memory_gb() -> list[float]:
    """Peak memory allocated on each visible CUDA device by this process, in GB."""
    import torch

    if not torch.cuda.is_available():
        return []
    return [
        round(torch.cuda.max_memory_allocated(i) / 1e9, 2) for i in range(torch.cuda.device_count())
    ]


class ProgressEvents(TrainerCallback):
    def __init__(self, writer: EventWriter | None, collator: CountingCollator) -> None:
        self.writer = writer
        self.collator = collator
        self.packing = isinstance(collator, PackingCollator)
        self._started = 0.0
        self._start_step = 0
        self._last_time = 0.0
        self._start_tokens = 0
        self._last_step = 0

    def _emit(self, state: TrainerState, type: str, **fields: Any) -> None:
        if self.writer is not None and state.is_world_process_zero:
            self.writer.emit(type, **fields)

    def on_train_begin(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **_: Any
    ) -> None:
        now = time.monotonic()
        self._started = self._last_time = now
        self._start_step = self._last_step = state.global_step
        self._start_tokens = self.collator.real_tokens
        self._emit(
            state,
            "progress",
            phase="train",
            done=state.global_step,
            total=state.max_steps,
            epochs=args.num_train_epochs,
            world_size=args.world_size,
            packing=self.packing,
            # Known before the first batch only for packing (none by construction); padded
            # batches report theirs in every metric event.
            pad_share=0.0 if self.packing else None,
            batch_examples=args.train_batch_size,
        )

    def on_log(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        logs: dict[str, Any] | None = None,
        **_: Any,
    ) -> None:
        logs = logs or {}
        if "loss" not in logs:
            return  # the end-of-training summary comes as a `done` event instead
        now = time.monotonic()
        seconds = max(now - self._last_time, 1e-9)
        # Averaged since the start: the data loader fetches a batch ahead, so per-interval
        # counts are off by one batch. Every rank sees its own batches; rank 0's count times
        # the world size is the job's.
        tokens = (self.collator.real_tokens - self._start_tokens) * args.world_size
        since_start = max(now - self._started, 1e-9)
        steps = state.global_step - self._last_step
        done_steps = state.global_step - self._start_step
        eta = None
        if done_steps > 0 and state.max_steps > 0:
            eta = (now - self._started) / done_steps * (state.max_steps - state.global_step)
        self._emit(
            state,
            "metric",
            step=state.global_step,
            total=state.max_steps,
            epoch=round(state.epoch or 0.0, 4),
            loss=float(logs["loss"]),
            lr=logs.get("learning_rate"),
            grad_norm=_float(logs.get("grad_norm")),
            tokens_per_s=round(tokens / since_start, 1),
            samples_per_s=round(
                steps
                * args.train_batch_size
                * args.gradient_accumulation_steps
                * args.world_size
                / seconds,
                2,
            ),
            pad_share=round(self.collator.pad_share, 4),
            tokens_per_batch=round(self.collator.tokens_per_batch, 1),
            eta_s=round(eta, 1) if eta is not None else None,
            gpu_mem_gb=gpu_memory_gb(),
        )
        self._last_time, self._last_step = now, state.global_step

    def on_save(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **_: Any
    ) -> None:
        self._emit(
            state,
            "log",
            message=f"saved checkpoint-{state.global_step}",
            checkpoint=f"{args.output_dir}/checkpoint-{state.global_step}",
            step=state.global_step,
        )


def _float(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None
