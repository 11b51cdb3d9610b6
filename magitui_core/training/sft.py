"""The SFT entry point: `python -m magitui_core.training.sft`, alone or under `accelerate launch`.

Reads instruction/response JSONL, builds each example from the one prompt module, trains with
HF Trainer (length-grouped batches by default), and saves a final folder whose tokenizer
carries the training prompt as its chat template, plus a run card.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any

from magitui_core.jobs.events import EventWriter
from magitui_core.prompts import CHAT_TEMPLATE, MAGICODER_PROMPT
from magitui_core.training.packing import (
    PackingUnsupported,
    attention_implementation,
    prepare_for_packing,
)
from magitui_core.training.settings import TrainSettings, parse_settings
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


def choose_precision(settings: TrainSettings) -> dict[str, Any]:
    import torch

    precision = settings.precision
    if precision == "auto":
        precision = (
            "bf16" if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else "fp32"
        )
    return {"bf16": precision == "bf16", "fp16": precision == "fp16"}


def _cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


def _checkpointing_argument(arguments_class: Any, enabled: bool) -> dict[str, Any]:
    """transformers 5 renamed gradient_checkpointing to activation_checkpointing."""
    import inspect

    names = inspect.signature(arguments_class.__init__).parameters
    name = (
        "activation_checkpointing"
        if "activation_checkpointing" in names
        else ("gradient_checkpointing")
    )
    return {name: enabled} if enabled else {}


def training_arguments(settings: TrainSettings) -> Any:
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
        per_device_train_batch_size=settings.per_device_batch,
        gradient_accumulation_steps=settings.grad_accum,
        train_sampling_strategy=settings.sampling,
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
        **choose_precision(settings),
        **_checkpointing_argument(TrainingArguments, settings.gradient_checkpointing),
    )


def last_checkpoint(settings: TrainSettings) -> str | None:
    from transformers.trainer_utils import get_last_checkpoint

    if not settings.checkpoints_dir.is_dir():
        return None
    return get_last_checkpoint(str(settings.checkpoints_dir))


def write_run_card(settings: TrainSettings, data: TokenizedData, final_dir: Path) -> None:
    card = {
        "base_model": settings.base_model,
        "data": [str(p) for p in settings.data],
        "data_sha256": file_sha256(settings.data),
        "rows": data.rows,
        "truncated_rows": data.truncated,
        "skipped_lines": len(data.skipped),
        "settings": settings.model_dump(mode="json"),
        "prompt": MAGICODER_PROMPT,
    }
    (final_dir / RUN_CARD).write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")


def run(settings: TrainSettings, writer: EventWriter | None) -> Path:
    from transformers import AutoModelForCausalLM, AutoTokenizer, Trainer, set_seed

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

    model = AutoModelForCausalLM.from_pretrained(settings.base_model)
    used_cache = model.config.use_cache
    collator: CountingCollator
    if settings.packing:
        attention = prepare_for_packing(model)  # refuses what would mix examples
        collator = PackingCollator()
    else:
        attention = attention_implementation(model)
        collator = PaddingCollator(tokenizer.pad_token_id)
    emit(
        "log",
        message=f"attention {attention}, "
        + ("packed batches (no padding)" if settings.packing else "padded batches"),
        attention=attention,
        packing=settings.packing,
    )
    args = training_arguments(settings)
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=data.examples,
        data_collator=collator,
        processing_class=tokenizer,
        callbacks=[ProgressEvents(writer, collator)],
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
        write_run_card(settings, data, final_dir)
        emit(
            "done",
            message=f"trained {result.global_step} steps; model in {final_dir}",
            final=str(final_dir),
            steps=result.global_step,
            train_loss=result.training_loss,
            pad_share=round(collator.pad_share, 4),
            tokens_per_batch=round(collator.tokens_per_batch, 1),
            packing=settings.packing,
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
    try:
        run(settings, writer)
        close_distributed(wait_for_all=True)
    except (DataFileError, PackingUnsupported) as exc:
        print(f"magitui: {exc}", file=sys.stderr, flush=True)
        if writer is not None:
            writer.emit("error", message=str(exc))
        return 2
    except Exception as exc:
        if writer is not None:
            writer.emit("error", message=f"{type(exc).__name__}: {exc}")
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
