"""How much GPU and CPU memory a fine-tuning setup needs, before anything is loaded.

Model states (weights, gradients, optimizer) follow DeepSpeed's own estimators for ZeRO-2 and
ZeRO-3 (``estimate_zero2/3_model_states_mem_needs``), reproduced here so the UI can advise
without importing torch or deepspeed; the tests check the numbers against those functions.
Activations follow Korthikanti et al. (2022) for 16-bit training with fused attention.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

BUFFER_FACTOR = 1.5  # DeepSpeed's additional_buffer_factor for CPU memory
HEADROOM = 0.9  # keep 10 % of each memory free for the allocator and the CUDA context

Offload = Literal["none", "cpu"]


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


def read_model_config(model: str) -> dict:
    """config.json of a local folder or of a model in the Hugging Face cache (never downloads)."""
    local = Path(model).expanduser()
    if local.is_dir():
        path = local / "config.json"
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


def model_states(
    shape: ModelShape,
    stage: int,
    offload_optimizer: Offload = "none",
    offload_params: Offload = "none",
    gpus_per_node: int = 1,
    nodes: int = 1,
    zero_init: bool = True,
) -> tuple[int, int]:
    """(GPU bytes per GPU, CPU bytes per node) for weights, gradients and Adam states."""
    p, gpus = shape.parameters, max(1, gpus_per_node) * nodes
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
        return largest + int(18 * p / gpus), int(cpu)
    if stage == 2 and offload_optimizer == "cpu":
        return 2 * p, int(p * max(4 * gpus, 16) * BUFFER_FACTOR)
    cpu = int(p * 4 * gpus_per_node * BUFFER_FACTOR)  # each process loads the weights once
    if stage == 2:
        return 2 * p + int(18 * p / gpus), cpu
    if stage == 1:  # optimizer states (12 bytes) sharded, 16-bit and 32-bit gradients not
        return 8 * p + int(12 * p / gpus), cpu
    return 20 * p, cpu  # stage 0: plain data parallelism, everything on every GPU


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
) -> list[Plan]:
    """Every ZeRO / offload choice with its memory needs, fastest first."""
    act = activations(shape, micro_batch, seq_len, checkpointing)
    result = []
    for stage, opt, params in CHOICES:
        gpu, cpu = model_states(shape, stage, opt, params, gpus_per_node, nodes)
        gpu += act
        fits = gpu <= gpu_memory * HEADROOM and cpu <= cpu_memory * HEADROOM
        result.append(Plan(stage, opt, params, gpu, cpu, fits))
    return result


def recommend(all_plans: list[Plan]) -> Plan | None:
    """The fastest choice that fits, or None when nothing does."""
    return next((plan for plan in all_plans if plan.fits), None)
