"""How much GPU and CPU memory a fine-tuning setup needs, before anything is loaded.

Model states (weights, gradients, optimizer) follow DeepSpeed's own estimators for ZeRO-2 and
ZeRO-3 (``estimate_zero2/3_model_states_mem_needs``), reproduced here so the UI can advise
without importing torch or deepspeed; the tests check the numbers against those functions.
Activations follow Korthikanti et al. (2022) for 16-bit training with fused attention.

The optimizer changes only the sharded fp32 part. DeepSpeed's figures are for AdamW: per
parameter 4 bytes of fp32 master weights + 8 of moments. Adafactor (as HF Trainer builds it:
no first moment) keeps the master weights and a factored second moment; 8-bit AdamW
(bitsandbytes) keeps the master weights and two 1-byte moments. Under ZeRO CPU offload
accelerate swaps any optimizer for DeepSpeed's CPU Adam (Adafactor then crashes, 8-bit AdamW
silently becomes 32-bit Adam), so offload is AdamW only.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from magitui_core.model_source import ModelSourceError, model_source

BUFFER_FACTOR = 1.5  # DeepSpeed's additional_buffer_factor for CPU memory
HEADROOM = 0.9  # keep 10 % of each memory free for the allocator and the CUDA context

Offload = Literal["none", "cpu"]
Optimizer = Literal["adamw", "adafactor", "adamw_8bit"]


@dataclass(frozen=True)
class OptimizerSpec:
    label: str
    hf_optim: str  # HF Trainer's --optim name
    state_bytes: float  # fp32 master weights + optimizer states, bytes per parameter


OPTIMIZERS: dict[Optimizer, OptimizerSpec] = {
    "adamw": OptimizerSpec("AdamW", "adamw_torch", 12),
    "adafactor": OptimizerSpec("Adafactor", "adafactor", 4),  # + the factors, see below
    "adamw_8bit": OptimizerSpec("AdamW 8-bit", "adamw_bnb_8bit", 6),
}


def optimizer_kind(hf_optim: str) -> Optimizer | None:
    """Which family an HF Trainer ``--optim`` name belongs to; None for others (Lion, SGD…)."""
    name = hf_optim.lower()
    if "adam" in name:
        return "adamw_8bit" if "8bit" in name else "adamw"
    return "adafactor" if "adafactor" in name else None


def state_bytes(shape: ModelShape, optimizer: Optimizer) -> float:
    """fp32 bytes per parameter the optimizer keeps, master weights included."""
    if optimizer == "adafactor":
        # One row and one column vector per h×k matrix, (h + k) / (h·k) of its size: about
        # 2 / hidden for these models' matrices, 4 bytes each (norm weights keep a full
        # vector, a negligible share).
        return OPTIMIZERS["adafactor"].state_bytes + 8 / shape.hidden
    return OPTIMIZERS[optimizer].state_bytes


def offload_problem(optimizer: Optimizer) -> str:
    """Why ``optimizer`` cannot go with ZeRO CPU offload, in a table cell ("" when it can)."""
    if optimizer == "adafactor":
        return "crashes CPU Adam"
    if optimizer == "adamw_8bit":
        return "becomes 32-bit"
    return ""


class ModelShapeError(ValueError):
    """A model whose size cannot be read; the message says where magitui looked."""


@dataclass(frozen=True)
class ModelShape:
    parameters: int
    largest_layer: int  # parameters of the largest single layer (usually the embedding)
    hidden: int
    layers: int

    @classmethod
    def from_config(cls, config: dict) -> ModelShape:
        try:
            h = int(config["hidden_size"])
            layers = int(config["num_hidden_layers"])
            vocab = int(config["vocab_size"])
            inter = int(config.get("intermediate_size", 4 * h))
            heads = int(config.get("num_attention_heads", 1))
            kv_heads = int(config.get("num_key_value_heads", heads))
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelShapeError(f"config.json lacks {exc} needed to size the model") from None
        kv = h * kv_heads // heads
        per_layer = 2 * h * h + 2 * h * kv + 3 * h * inter + 2 * h  # attn, MLP, two norms
        embeddings = vocab * h * (1 if config.get("tie_word_embeddings", False) else 2)
        return cls(embeddings + layers * per_layer + h, vocab * h, h, layers)

    @classmethod
    def from_parameter_count(cls, parameters: int) -> ModelShape:
        """For a size typed by hand: assume a Llama-like 32k vocabulary and 4096 hidden."""
        return cls(parameters, 32_000 * 4096, 4096, 32)


_COUNT = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:e[0-9]+)?)\s*([kmbt]?)\s*$", re.IGNORECASE)
_SCALE = {"": 1, "k": 10**3, "m": 10**6, "b": 10**9, "t": 10**12}


class AdvisorInputError(ValueError):
    """An advisor input that cannot be used; the message names it and the fix."""


def parse_parameter_count(text: str) -> int:
    """'7B', '6.7e9', '350M' or '7000000000' as a number of parameters."""
    match = _COUNT.match(text)
    if not match:
        raise AdvisorInputError(f"parameters = {text!r} — write e.g. 7B, 350M or 6.7e9")
    count = int(float(match.group(1)) * _SCALE[match.group(2).lower()])
    if count <= 0:
        raise AdvisorInputError(f"parameters = {text!r} — must be more than 0")
    return count


def read_model_config(model: str) -> dict:
    """config.json of a local folder or of a model in the Hugging Face cache (never downloads)."""
    try:
        source = model_source(model)
    except ModelSourceError as exc:
        raise ModelShapeError(f"{exc} (or enter its parameter count, e.g. 6.7B)") from None
    if source.folder is not None:
        path = source.folder / "config.json"
    else:
        from huggingface_hub import try_to_load_from_cache

        cached = try_to_load_from_cache(model, "config.json")
        if not isinstance(cached, str):
            raise ModelShapeError(
                f"{model} is neither a folder nor in the Hugging Face cache — download it first "
                "(huggingface-cli download MODEL config.json) or enter its parameter count"
            )
        path = Path(cached)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelShapeError(f"cannot read {path}: {exc}") from None


def shape_for(model: str) -> ModelShape:
    """A parameter count ('6.7B') or a model (folder or cached Hub id) as a ModelShape."""
    try:
        return ModelShape.from_parameter_count(parse_parameter_count(model))
    except AdvisorInputError:
        return ModelShape.from_config(read_model_config(model))


def model_states(
    shape: ModelShape,
    stage: int,
    offload_optimizer: Offload = "none",
    offload_params: Offload = "none",
    gpus_per_node: int = 1,
    nodes: int = 1,
    zero_init: bool = True,
    optimizer: Optimizer = "adamw",
) -> tuple[int, int]:
    """(GPU bytes per GPU, CPU bytes per node) for weights, gradients and optimizer states.

    With CPU offload the figures are AdamW's whatever ``optimizer`` is: that is what runs
    (see ``offload_problem``).
    """
    p, gpus = shape.parameters, max(1, gpus_per_node) * nodes
    # Sharded on the GPUs: 16-bit + fp32 gradients (2 + 4) and the optimizer's fp32 part.
    sharded = 6 + state_bytes(shape, optimizer)
    if stage == 3:
        largest = 4 * shape.largest_layer
        node_share = 1 / nodes
        if offload_optimizer == "cpu" and offload_params == "cpu":
            factor = 18 * node_share if zero_init else max(4 * gpus_per_node, 18 * node_share)
            return largest, int(p * factor * BUFFER_FACTOR)
        if offload_optimizer == "cpu":
            factor = 16 * node_share if zero_init else max(4 * gpus_per_node, 16 * node_share)
            return largest + int(2 * p / gpus), int(p * factor * BUFFER_FACTOR)
        cpu = (shape.largest_layer if zero_init else p) * 4 * gpus_per_node * BUFFER_FACTOR
        return largest + int(sharded * p / gpus), int(cpu)
    if stage == 2 and offload_optimizer == "cpu":
        return 2 * p, int(p * max(4 * gpus, 16) * BUFFER_FACTOR)
    cpu = int(p * 4 * gpus_per_node * BUFFER_FACTOR)  # each process loads the weights once
    if stage == 2:
        return 2 * p + int(sharded * p / gpus), cpu
    if stage == 1:  # optimizer states sharded, 16-bit and 32-bit gradients not
        return 8 * p + int(state_bytes(shape, optimizer) * p / gpus), cpu
    # stage 0: plain data parallelism, everything on every GPU
    return int((2 + sharded) * p), cpu


def activations(shape: ModelShape, micro_batch: int, seq_len: int, checkpointing: bool) -> int:
    """Activation bytes per GPU for 16-bit training with fused (flash/SDPA) attention."""
    per_layer = 34 * micro_batch * seq_len * shape.hidden
    if checkpointing:  # keep each layer's input, recompute one layer at a time
        return 2 * micro_batch * seq_len * shape.hidden * shape.layers + per_layer
    return per_layer * shape.layers


@dataclass(frozen=True)
class Plan:
    stage: int
    offload_optimizer: Offload
    offload_params: Offload
    gpu_bytes: int
    cpu_bytes: int
    fits: bool
    optimizer: Optimizer = "adamw"
    blocked: str = ""  # why this choice cannot be used with the optimizer, however it fits

    @property
    def usable(self) -> bool:
        return self.fits and not self.blocked

    @property
    def label(self) -> str:
        offload = [
            name
            for name, dev in (
                ("optimizer", self.offload_optimizer),
                ("parameters", self.offload_params),
            )
            if dev == "cpu"
        ]
        return f"ZeRO-{self.stage}" + (f" + {' & '.join(offload)} on CPU" if offload else "")


# Fastest first: each step down trades speed for memory.
CHOICES: tuple[tuple[int, Offload, Offload], ...] = (
    (0, "none", "none"),
    (1, "none", "none"),
    (2, "none", "none"),
    (3, "none", "none"),
    (2, "cpu", "none"),
    (3, "cpu", "none"),
    (3, "cpu", "cpu"),
)


def plans(
    shape: ModelShape,
    gpu_memory: int,
    cpu_memory: int,
    gpus_per_node: int = 1,
    nodes: int = 1,
    micro_batch: int = 1,
    seq_len: int = 1216,
    checkpointing: bool = True,
    optimizer: Optimizer = "adamw",
) -> list[Plan]:
    """Every ZeRO / offload choice with its memory needs for ``optimizer``, fastest first."""
    act = activations(shape, micro_batch, seq_len, checkpointing)
    result = []
    for stage, opt, params in CHOICES:
        gpu, cpu = model_states(
            shape, stage, opt, params, gpus_per_node, nodes, optimizer=optimizer
        )
        gpu += act
        fits = gpu <= gpu_memory * HEADROOM and cpu <= cpu_memory * HEADROOM
        blocked = offload_problem(optimizer) if opt == "cpu" else ""
        result.append(Plan(stage, opt, params, gpu, cpu, fits, optimizer, blocked))
    return result


def recommend(all_plans: list[Plan]) -> Plan | None:
    """The fastest choice that fits and works with its optimizer, or None when none does."""
    return next((plan for plan in all_plans if plan.usable), None)
