"""The Magicoder recipe as numbers, the batch arithmetic that makes the global batch its unit,
and the `effective` record every launch reports.

Upstream's values come from README-DEV.md's training command (`accelerate launch -m
magicoder.train ...` on 2 GPUs) and from `train.py`/`llm_wrapper.py`: the weights are loaded in
bfloat16 and flash attention 2 is asked for. Nothing here imports torch: the CLI computes the
same record for `--dry-run` that the entry point writes into its run card.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

RECIPE_NAME = "magicoder"
FLASH_ATTENTION = ("flash_attention_2", "flash_attention_3")


@dataclass(frozen=True)
class Recipe:
    """One recipe's training choices, named as in `effective`."""

    global_batch: int
    per_device_batch: int
    learning_rate: float
    warmup_steps: int
    scheduler: str
    optimizer: str
    epochs: float
    max_len: int
    precision: str
    max_grad_norm: float | None
    sampling: str
    attention: str


# README-DEV: --per_device_train_batch_size 2 --gradient_accumulation_steps 128 on 2 GPUs,
# --optim adafactor --learning_rate 5e-5 --warmup_steps 15 --lr_scheduler_type linear
# --max_grad_norm -1 (no clipping) --num_train_epochs 2 --max_training_seq_length 1216
# --bf16 True (with bfloat16 weights) --use_flash_attention True --group_by_length False.
MAGICODER = Recipe(
    global_batch=512,
    per_device_batch=2,
    learning_rate=5e-5,
    warmup_steps=15,
    scheduler="linear",
    optimizer="adafactor",
    epochs=2.0,
    max_len=1216,
    precision="bf16",
    max_grad_norm=None,
    sampling="random",
    attention="flash_attention_2",
)

# What DeepSpeed runs instead of an optimizer it cannot offload (its CPU Adam is AdamW).
OFFLOAD_OPTIMIZER = "adamw_torch"


class BatchError(ValueError):
    """Batch sizes that do not multiply out; the message names each number and the fix."""


@dataclass(frozen=True)
class BatchPlan:
    global_batch: int
    per_device_batch: int
    grad_accum: int
    processes: int


def recipe_accumulation(processes: int, recipe: Recipe = MAGICODER) -> int | None:
    """The accumulation that makes the recipe's global batch from its per-device batch on
    ``processes`` processes (128 on 2 GPUs), or None where it does not divide."""
    per_step = recipe.per_device_batch * max(1, processes)
    if recipe.global_batch % per_step:
        return None
    return recipe.global_batch // per_step


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 'es' if word.endswith('s') else 's'}"


def processes_text(count: int) -> str:
    return _plural(count, "process")


def _labelled(value: int, name: str, source: str | None) -> str:
    return f"{name} {value}" + (f" ({source})" if source else "")


def resolve_batch(
    global_batch: int,
    per_device_batch: int,
    processes: int,
    grad_accum: int | None = None,
    sources: dict[str, str] | None = None,
) -> BatchPlan:
    """Accumulation = global ÷ (processes × per device), which must divide exactly; a given
    accumulation must multiply out to the global batch instead.

    ``sources`` names where each number came from ("default", "--per-device-batch", "the
    accelerate config …") so an error can say which one to change. Raises BatchError.
    """
    names = sources or {}
    for name, value in (
        ("global batch", global_batch),
        ("per-device batch", per_device_batch),
        ("processes", processes),
    ):
        if value < 1:
            raise BatchError(f"{name} {value}: must be at least 1")
    per_step = per_device_batch * processes
    if grad_accum is not None:
        if grad_accum < 1:
            raise BatchError(f"gradient accumulation {grad_accum}: must be at least 1")
        product = per_step * grad_accum
        if product == global_batch:
            return BatchPlan(global_batch, per_device_batch, grad_accum, processes)
        fixes = [f"--global-batch {product} to train with this product"]
        if global_batch % per_step == 0:
            fixes.append(f"gradient accumulation {global_batch // per_step}")
        if global_batch % (grad_accum * processes) == 0:
            fixes.append(f"--per-device-batch {global_batch // (grad_accum * processes)}")
        raise BatchError(
            f"{_labelled(per_device_batch, 'per-device batch', names.get('per_device_batch'))}"
            f" × {_labelled(grad_accum, 'gradient accumulation', names.get('grad_accum'))}"
            f" × {_plural(processes, 'process')}"
            + (f" ({names['processes']})" if names.get("processes") else "")
            + f" = {product}, "
            f"not the {_labelled(global_batch, 'global batch', names.get('global_batch'))}"
            f" — use {' or '.join(fixes)}"
        )
    if global_batch % per_step == 0:
        return BatchPlan(global_batch, per_device_batch, global_batch // per_step, processes)
    lower = (global_batch // per_step) * per_step
    valid = [b for b in (lower, lower + per_step) if b >= per_step]
    fixes = [f"--global-batch {' or '.join(map(str, valid))}"]
    if global_batch % processes == 0:
        rows = global_batch // processes
        divisors = [d for d in range(1, rows + 1) if rows % d == 0]
        nearest = sorted(divisors, key=lambda d: (abs(d - per_device_batch), d))[:3]
        fixes.append(f"--per-device-batch {' or '.join(map(str, sorted(nearest)))}")
    raise BatchError(
        f"{_labelled(global_batch, 'global batch', names.get('global_batch'))} does not split "
        f"into {_plural(processes, 'process')} × {per_device_batch} per device: "
        f"{global_batch} / {per_step} = {global_batch / per_step:g} accumulation steps"
        f" — use {', or '.join(fixes)}"
    )


def effective(
    plan: BatchPlan,
    *,
    learning_rate: float,
    warmup_steps: int,
    scheduler: str,
    optimizer: str,
    epochs: float,
    max_len: int,
    precision: str,
    sampling: str,
    packing: bool,
    max_grad_norm: float | None,
    attention: str,
    max_steps: int = -1,
) -> dict[str, Any]:
    """The settings a launch trains with, resolved: what `--dry-run --json` prints and the run
    card keeps. ``max_grad_norm`` None is no clipping; ``max_steps`` ≤ 0 trains the epochs."""
    return {
        "recipe": RECIPE_NAME,
        "global_batch": plan.global_batch,
        "per_device_batch": plan.per_device_batch,
        "grad_accum": plan.grad_accum,
        "processes": plan.processes,
        "learning_rate": learning_rate,
        "warmup_steps": warmup_steps,
        "scheduler": scheduler,
        "optimizer": optimizer,
        "epochs": epochs,
        "max_len": max_len,
        "precision": precision,
        "sampling": sampling,
        "packing": packing,
        "max_grad_norm": max_grad_norm,
        "attention": attention,
        "max_steps": max_steps if max_steps > 0 else None,
    }


def deviations(record: dict[str, Any], recipe: Recipe = MAGICODER) -> list[dict[str, Any]]:
    """The settings of ``record`` (an `effective` dict) that are not the recipe's.

    Packing is not one: it trains on the same examples per step without padding. Processes
    and per-device batch are not either while the global batch is kept: they change how a
    step is computed, not what it averages over."""
    found = []
    for name, wanted in asdict(recipe).items():
        if name == "per_device_batch":
            continue
        value = record.get(name)
        if isinstance(wanted, float) and isinstance(value, (int, float)):
            same = math.isclose(value, wanted)
        else:
            same = value == wanted
        if not same:
            found.append({"setting": name, "value": value, "recipe": wanted})
    if record.get("max_steps"):
        found.append({"setting": "max_steps", "value": record["max_steps"], "recipe": None})
    return found


def _mark(record: dict[str, Any], name: str, recipe: Recipe) -> str:
    wanted = getattr(recipe, name)
    value = record.get(name)
    if isinstance(wanted, float) and isinstance(value, (int, float)):
        same = math.isclose(value, wanted)
    else:
        same = value == wanted
    return "" if same else f"  * recipe: {'off' if wanted is None else wanted}"


def effective_lines(record: dict[str, Any], recipe: Recipe = MAGICODER) -> list[str]:
    """The effective settings for people: one line each, deviations from the recipe marked
    with * and the recipe's value."""
    clip = record["max_grad_norm"]
    rows = [
        (
            "global batch",
            f"{record['global_batch']} = {record['per_device_batch']} per device × "
            f"{record['grad_accum']} accumulation × {_plural(record['processes'], 'process')}",
            "global_batch",
        ),
        ("optimizer", str(record["optimizer"]), "optimizer"),
        ("learning rate", f"{record['learning_rate']:g}", "learning_rate"),
        ("schedule", str(record["scheduler"]), "scheduler"),
        ("warm-up steps", str(record["warmup_steps"]), "warmup_steps"),
        ("clipping", "off" if clip is None else f"{clip:g}", "max_grad_norm"),
        ("epochs", f"{record['epochs']:g}", "epochs"),
        ("max length", f"{record['max_len']} tokens", "max_len"),
        ("precision", str(record["precision"]), "precision"),
        ("attention", str(record["attention"]), "attention"),
        ("sampling", f"{record['sampling']} batches", "sampling"),
    ]
    lines = [f"recipe {record.get('recipe', RECIPE_NAME)} (* marks a deviation)"]
    lines += [f"  {label:<14} {value}{_mark(record, key, recipe)}" for label, value, key in rows]
    packing = "on: no padding, same examples per step" if record["packing"] else "off: padded"
    lines.append(f"  {'packing':<14} {packing}")
    if record.get("max_steps"):
        lines.append(f"  {'max steps':<14} {record['max_steps']}  * stops before the epochs end")
    return lines


def effective_summary(record: dict[str, Any]) -> str:
    """The effective settings in one short line (the Train screen)."""
    found = deviations(record)
    return (
        f"{record.get('recipe', RECIPE_NAME)}: batch {record['global_batch']} "
        f"({record['per_device_batch']}×{record['grad_accum']}×{record['processes']}), "
        f"{record['optimizer']}, lr {record['learning_rate']:g}, {record['precision']}, "
        f"{record['attention']}, {'packed' if record['packing'] else 'padded'}"
        + (f"; {len(found)} deviation{'s' if len(found) != 1 else ''}" if found else "")
    )
