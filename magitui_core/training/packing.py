"""Whether padding-free packing is safe for a model, decided on what transformers supports.

Packing puts a batch's examples end to end in one row with `position_ids` that restart at 0
for every example and no attention mask (see PackingCollator). transformers then keeps the
examples apart in two ways: its mask builder (`masking_utils.create_causal_mask`) turns those
position ids into a block-diagonal causal mask for every implementation registered in its
mask interface (eager, sdpa, flex_attention, flash_attention_2/3/4), and the flash-attention
path runs the varlen kernel on the same boundaries. Anything else (a hub kernel, a custom
function) would attend across examples, so it is refused rather than trained wrongly.

One trap: the mask builder only looks at position ids when there is no KV cache, and a model
whose config says `use_cache=True` builds an empty one even in training (unless gradient
checkpointing is on), so the examples would see each other. Trainer in transformers 5.24 sets
`config.use_cache` from `TrainingArguments.use_cache` (False) itself; older releases (the GPU
machines carry 5.17) may not, so packing turns the cache off here. The run restores the
config's value before saving the final model.

Older transformers (the declared minimum, 4.45) have no mask interface: there only the
flash-attention path reads packed position ids (``_flash_attention_forward`` switches to the
varlen kernel when the position ids restart), so only flash attention may pack.
"""

from __future__ import annotations

import inspect
from typing import Any


class PackingUnsupported(ValueError):
    """Packing asked for a model whose attention would mix the packed examples."""


def packing_attention_implementations() -> set[str]:
    """The attention implementations whose masks honour packed position ids, per the library."""
    try:
        from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS
    except ImportError:  # older transformers (4.45–4.49 checked): flash attention only
        return {"flash_attention_2"}
    return set(ALL_MASK_ATTENTION_FUNCTIONS._global_mapping)


def packs_without_padding_cost(attention: str) -> bool:
    """Whether packing is the fast path with this kernel: flash attention runs each packed
    example on its own (varlen), while eager/sdpa/flex build a mask over the whole row, so
    packing there saves no compute and ``--packing auto`` pads instead."""
    return attention.startswith("flash_attention")


def attention_implementation(model: Any) -> str:
    return str(getattr(model.config, "_attn_implementation", None) or "eager")


def prepare_for_packing(model: Any) -> str:
    """Check the model can train packed, turn its KV cache off; returns the attention used.

    Raises PackingUnsupported with the reason and the fix."""
    attention = attention_implementation(model)
    supported = packing_attention_implementations()
    if attention not in supported:
        raise PackingUnsupported(
            f"--packing with attention implementation {attention!r}: packed examples would "
            f"attend to each other; use --attention with one of {', '.join(sorted(supported))}, "
            "or --packing off"
        )
    if "position_ids" not in inspect.signature(model.forward).parameters:
        raise PackingUnsupported(
            f"--packing with {type(model).__name__}: its forward takes no position_ids, so "
            "packed examples cannot be kept apart; use --packing off"
        )
    model.config.use_cache = False
    return attention
