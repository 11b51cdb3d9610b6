"""The SFT entry point: `python -m magitui_core.training.sft`, alone or under `accelerate launch`.

Reads instruction/response JSONL, builds each example from the one prompt module, trains with
HF Trainer on the Magicoder recipe (see ``recipe``; every deviation is an argument), and saves a
final folder whose tokenizer carries the training prompt as its chat template, plus a run card
with the effective settings and what the Trainer itself reported.
"""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import json
import os
import sys
from pathlib import Path
from typing import Any

from magitui_core.jobs.events import EventWriter
from magitui_core.jobs.locks import OutputLock, OutputLocked
from magitui_core.prompts import CHAT_TEMPLATE, MAGICODER_PROMPT
from magitui_core.training.packing import (
    PackingUnsupported,
    attention_implementation,
    packs_without_padding_cost,
    prepare_for_packing,
)
from magitui_core.training.recipe import (
    MAGICODER,
    BatchError,
    BatchPlan,
    deviations,
    processes_text,
    resolve_batch,
)
from magitui_core.training.settings import TrainSettings, effective_of, parse_settings
from magitui_core.training.sft_data import DataFileError, TokenizedData

RUN_CARD = "magitui_run.json"


def is_main_process() -> bool:
    return os.environ.get("RANK", "0") == "0"


def file_sha256(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def world_size() -> int:
    """Processes in this training, as the launcher (accelerate, torchrun) announces it."""
    return int(os.environ.get("WORLD_SIZE", "1") or 1)


def resolve_precision(precision: str) -> str:
    """The precision to train in: "auto" is the recipe's bf16 where the GPU has bfloat16,
    else fp32."""
    if precision != "auto":
        return precision
    import torch

    return "bf16" if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else "fp32"


def precision_arguments(precision: str) -> dict[str, Any]:
    return {"bf16": precision in ("bf16", "bf16-mixed"), "fp16": precision == "fp16"}


def model_loading_arguments(precision: str, attention: str | None) -> dict[str, Any]:
    """from_pretrained's arguments: upstream loads the weights in bfloat16 (its `bf16`); the
    keyword is `dtype` from transformers 4.56, `torch_dtype` before (4.45 would silently
    ignore `dtype`)."""
    import torch
    import transformers
    from packaging.version import Version

    arguments: dict[str, Any] = {}
    if precision == "bf16":
        keyword = "dtype" if Version(transformers.__version__) >= Version("4.56") else "torch_dtype"
        arguments[keyword] = torch.bfloat16
    if attention is not None:
        arguments["attn_implementation"] = attention
    return arguments


def choose_attention(requested: str, precision: str) -> str | None:
    """The kernel to ask for: the recipe's flash attention 2 where flash-attn is installed, a
    GPU is there and the precision is 16-bit; else None, transformers' own default (sdpa for
    most models), named once the model is loaded."""
    if requested != "auto":
        return requested
    import torch
    from transformers.utils import is_flash_attn_2_available

    half = precision in ("bf16", "bf16-mixed", "fp16")
    if half and torch.cuda.is_available() and is_flash_attn_2_available():
        return MAGICODER.attention
    return None


def _cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


def _argument_names(arguments_class: Any) -> set[str]:
    return {f.name for f in dataclasses.fields(arguments_class)}


def _checkpointing_argument(arguments_class: Any, enabled: bool) -> dict[str, Any]:
    """transformers 5 renamed gradient_checkpointing to activation_checkpointing."""
    names = _argument_names(arguments_class)
    name = (
        "activation_checkpointing"
        if "activation_checkpointing" in names
        else ("gradient_checkpointing")
    )
    return {name: enabled} if enabled else {}


def sampling_argument(arguments_class: Any, sampling: str) -> dict[str, Any]:
    """transformers 5 took `group_by_length` into `train_sampling_strategy`; the declared
    minimum (4.45) has only the boolean. Random batches are both versions' default."""
    if "train_sampling_strategy" in _argument_names(arguments_class):
        return {"train_sampling_strategy": sampling}
    if sampling not in ("random", "group_by_length"):
        raise ValueError(f"--sampling {sampling} needs a newer transformers")
    return {"group_by_length": sampling == "group_by_length"}


def tokenizer_argument(trainer_class: Any, tokenizer: Any) -> dict[str, Any]:
    """Trainer takes the tokenizer as `processing_class` from transformers 4.46, `tokenizer`
    before."""
    names = inspect.signature(trainer_class.__init__).parameters
    return {"processing_class" if "processing_class" in names else "tokenizer": tokenizer}


def training_arguments(settings: TrainSettings, plan: BatchPlan, precision: str) -> Any:
    from transformers import TrainingArguments

    return TrainingArguments(
        output_dir=str(settings.checkpoints_dir),
        num_train_epochs=settings.epochs,
        max_steps=settings.max_steps,
        learning_rate=settings.learning_rate,
        lr_scheduler_type=settings.lr_scheduler,
        warmup_steps=settings.warmup_steps,
        # The recipe trains without clipping (max_grad_norm -1); 0 is Trainer's "off".
        max_grad_norm=settings.max_grad_norm if settings.max_grad_norm is not None else 0.0,
        per_device_train_batch_size=plan.per_device_batch,
        gradient_accumulation_steps=plan.grad_accum,
        ddp_find_unused_parameters=False,  # a causal LM uses every parameter in each step
        optim=settings.optim,
        save_strategy="steps",
        save_steps=settings.save_steps,
        save_total_limit=settings.save_total_limit,
        logging_steps=settings.logging_steps,
        seed=settings.seed,
        report_to="none",
        disable_tqdm=True,  # progress goes to events; tqdm would flood output.log
        # Without CUDA, say so: only then do several CPU processes form one DDP group (gloo)
        # instead of each training alone.
        use_cpu=not _cuda_available(),
        **sampling_argument(TrainingArguments, settings.sampling),
        **precision_arguments(precision),
        **_checkpointing_argument(TrainingArguments, settings.gradient_checkpointing),
    )


def last_checkpoint(settings: TrainSettings) -> str | None:
    from transformers.trainer_utils import get_last_checkpoint

    if not settings.checkpoints_dir.is_dir():
        return None
    return get_last_checkpoint(str(settings.checkpoints_dir))


def write_run_card(
    settings: TrainSettings,
    data: TokenizedData,
    final_dir: Path,
    record: dict[str, Any],
    pad_share: float,
    trainer_seen: dict[str, Any],
) -> None:
    card = {
        "base_model": settings.base_model,
        "data": [str(p) for p in settings.data],
        "data_sha256": file_sha256(settings.data),
        "rows": data.rows,
        "truncated_rows": data.truncated,
        "skipped_lines": len(data.skipped),
        "effective": record,
        "deviations": deviations(record),
        "notes": settings.notes,
        "pad_share": round(pad_share, 4),
        "trainer": trainer_seen,
        "settings": settings.model_dump(mode="json"),
        "prompt": MAGICODER_PROMPT,
    }
    (final_dir / RUN_CARD).write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")


def describe(record: dict[str, Any]) -> str:
    """One line of the effective settings, for the log."""
    clip = record["max_grad_norm"]
    return (
        f"global batch {record['global_batch']} = {record['per_device_batch']} per device × "
        f"{record['grad_accum']} accumulation × {processes_text(record['processes'])}; "
        f"{record['optimizer']}, lr {record['learning_rate']:g} {record['scheduler']} with "
        f"{record['warmup_steps']} warm-up steps, "
        + ("no clipping" if clip is None else f"clipping at {clip:g}")
        + f", {record['epochs']:g} epochs of {record['max_len']} tokens, {record['precision']}, "
        f"{record['attention']}, {record['sampling']} batches"
        + (", packed" if record["packing"] else ", padded")
    )


class OptimizerSwapped(RuntimeError):
    """DeepSpeed replaced an optimizer it cannot run (Adafactor under ZeRO optimizer offload)."""


def innermost_optimizer(optimizer: Any) -> Any:
    """The optimizer doing the work under accelerate's and DeepSpeed's wrappers."""
    for _ in range(4):
        inner = getattr(optimizer, "optimizer", None)
        if inner is None or inner is optimizer:
            break
        optimizer = inner
    return optimizer


def trainer_view(args: Any, optimizer: Any, model: Any) -> dict[str, Any]:
    """What the Trainer itself trains with, read from its own arguments and objects."""

    def plain(value: Any) -> Any:
        return getattr(value, "value", value)  # enums (optim, scheduler) as their names

    parameter = next(iter(model.parameters()), None) if model is not None else None
    dtype = str(parameter.dtype).removeprefix("torch.") if parameter is not None else None
    return {
        "per_device_batch": args.per_device_train_batch_size,
        "grad_accum": args.gradient_accumulation_steps,
        "world_size": args.world_size,
        "optim": plain(args.optim),
        "optimizer_class": type(innermost_optimizer(optimizer)).__name__ if optimizer else None,
        "max_grad_norm": args.max_grad_norm,
        "learning_rate": args.learning_rate,
        "warmup_steps": args.warmup_steps,
        "scheduler": plain(args.lr_scheduler_type),
        "epochs": args.num_train_epochs,
        "bf16": args.bf16,
        "fp16": args.fp16,
        "weights_dtype": dtype,
    }


def run(settings: TrainSettings, writer: EventWriter | None) -> Path:
    from transformers import AutoModelForCausalLM, AutoTokenizer, Trainer, TrainerCallback, set_seed

    from magitui_core.training.memory_advisor import optimizer_kind
    from magitui_core.training.progress import ProgressEvents
    from magitui_core.training.sft_data import (
        CountingCollator,
        PackingCollator,
        PaddingCollator,
        read_instruction_pairs,
        tokenize_pairs,
    )

    def emit(type: str, **fields: Any) -> None:
        if writer is not None:
            writer.emit(type, **fields)

    # The global batch is the recipe's unit: the accumulation follows from the processes
    # really running, or, given, must multiply out to it.
    plan = resolve_batch(
        settings.global_batch,
        settings.per_device_batch,
        world_size(),
        settings.grad_accum,
        {"processes": "running", "global_batch": "--global-batch"},
    )
    precision = resolve_precision(settings.precision)
    requested_attention = choose_attention(settings.attention, precision)

    set_seed(settings.seed)
    pairs, skipped = read_instruction_pairs(settings.data)
    for line in skipped[:20]:
        emit("warning", message=line)
    tokenizer = AutoTokenizer.from_pretrained(settings.base_model)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token  # padding is masked out of the loss anyway
    data = tokenize_pairs(tokenizer, pairs, settings.max_seq_len)
    data.skipped = skipped
    message = f"{data.rows} rows, {data.truncated} truncated at {settings.max_seq_len} tokens" + (
        f", {len(skipped)} lines skipped" if skipped else ""
    )
    print(f"magitui: {message}", flush=True)
    emit("log", message=message, rows=data.rows, truncated=data.truncated, skipped=len(skipped))

    model = AutoModelForCausalLM.from_pretrained(
        settings.base_model, **model_loading_arguments(precision, requested_attention)
    )
    used_cache = model.config.use_cache
    attention = attention_implementation(model)
    packing = settings.packing == "on" or (
        settings.packing == "auto" and packs_without_padding_cost(attention)
    )
    collator: CountingCollator
    if packing:
        try:
            prepare_for_packing(model)  # refuses what would mix examples
        except PackingUnsupported as exc:
            if settings.packing == "on":
                raise
            emit("warning", message=f"padded batches: {exc}")
            packing = False
    collator = PackingCollator() if packing else PaddingCollator(tokenizer.pad_token_id)
    emit(
        "log",
        message=f"attention {attention}, "
        + ("packed batches (no padding)" if packing else "padded batches"),
        attention=attention,
        packing=packing,
    )
    record = effective_of(settings, plan, precision=precision, packing=packing, attention=attention)
    summary = describe(record)
    print(f"magitui: {summary}", flush=True)
    emit(
        "log",
        message=f"recipe {record['recipe']}: {summary}",
        effective=record,
        deviations=deviations(record),
        notes=settings.notes,
    )
    for note in settings.notes:
        emit("warning", message=note)

    trainer_seen: dict[str, Any] = {}

    class TrainerView(TrainerCallback):  # type: ignore[misc]
        """Records what the Trainer really trains with, and stops a swapped optimizer before
        its first step rather than at DeepSpeed's crash."""

        def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            trainer_seen.update(trainer_view(args, kwargs.get("optimizer"), kwargs.get("model")))
            if state.is_world_process_zero:
                print(f"magitui: trainer {json.dumps(trainer_seen)}", flush=True)
                seen = trainer_seen
                clip = seen["max_grad_norm"]
                emit(
                    "log",
                    message=f"trainer: {seen['per_device_batch']} per device × "
                    f"{seen['grad_accum']} accumulation × {processes_text(seen['world_size'])}, "
                    f"{seen['optim']} ({seen['optimizer_class']}), "
                    + (f"clipping at {clip:g}" if clip and clip > 0 else "no clipping")
                    + f", {seen['weights_dtype']} weights"
                    + (", bf16 autocast" if seen["bf16"] else "")
                    + (", fp16 autocast" if seen["fp16"] else ""),
                    trainer=dict(seen),
                )
            swapped = trainer_seen["optimizer_class"] == "DeepSpeedCPUAdam"
            if swapped and optimizer_kind(settings.optim) != "adamw":
                raise OptimizerSwapped(
                    f"optimizer {settings.optim} with ZeRO optimizer offload: DeepSpeed "
                    "replaced it with its CPU Adam, which cannot run it — use --optim "
                    "adamw_torch, or turn optimizer offload off"
                )

    args = training_arguments(settings, plan, precision)
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=data.examples,
        data_collator=collator,
        callbacks=[TrainerView(), ProgressEvents(writer, collator)],
        **tokenizer_argument(Trainer, tokenizer),
    )
    resume_from = last_checkpoint(settings) if settings.resume else None
    if settings.resume and resume_from is None:
        emit("warning", message=f"no checkpoint in {settings.checkpoints_dir}; starting fresh")
    result = trainer.train(resume_from_checkpoint=resume_from)

    final_dir = settings.final_dir
    # Trainer (and packing) turn the KV cache off for training; generation wants it back.
    model.config.use_cache = used_cache
    trainer.save_model(str(final_dir))  # under ZeRO-3 this gathers the 16-bit weights
    if trainer.is_world_process_zero():
        # Servers and the chat pane then format a user turn exactly as training did.
        tokenizer.chat_template = CHAT_TEMPLATE
        tokenizer.save_pretrained(str(final_dir))
        write_run_card(settings, data, final_dir, record, collator.pad_share, trainer_seen)
        emit(
            "done",
            message=f"trained {result.global_step} steps; model in {final_dir}",
            final=str(final_dir),
            steps=result.global_step,
            train_loss=result.training_loss,
            pad_share=round(collator.pad_share, 4),
            tokens_per_batch=round(collator.tokens_per_batch, 1),
            packing=packing,
        )
    return final_dir


def close_distributed(wait_for_all: bool) -> None:
    """Leave the process group explicitly: a rank that exits with gloo's threads still
    running dies with "terminate called without an active exception" (SIGABRT)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        if wait_for_all:
            dist.barrier()  # every rank is done saving before any of them leaves
        dist.destroy_process_group()


def main(argv: list[str] | None = None) -> int:
    settings = parse_settings(argv)
    writer = EventWriter.for_current_job() if is_main_process() else None
    # One training per output folder: a second would overwrite checkpoints/ and final/. The
    # main process holds the lock; the kernel drops it when that process ends, however it ends.
    lock = OutputLock(settings.out) if is_main_process() else None
    try:
        if lock is not None:
            lock.acquire()
        run(settings, writer)
        close_distributed(wait_for_all=True)
    except (DataFileError, PackingUnsupported, BatchError, OptimizerSwapped, OutputLocked) as exc:
        print(f"magitui: {exc}", file=sys.stderr, flush=True)
        if writer is not None:
            writer.emit("error", message=str(exc))
        return 2
    except Exception as exc:
        if writer is not None:
            writer.emit("error", message=f"{type(exc).__name__}: {exc}")
        raise
    finally:
        if lock is not None:
            lock.release()
    return 0


if __name__ == "__main__":
    sys.exit(main())
