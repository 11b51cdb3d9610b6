"""Padding waste of the training batches: the recipe's random batches, length-grouped ones,
and random batches packed without padding.

The original Magicoder training shuffles rows at random and pads each batch to its longest
row — magitui's default too, as the recipe. `--sampling group_by_length` groups rows of
similar length (transformers' LengthGroupedSampler): little padding, but different batches
than the recipe's. Packing (`--packing`, on by default with flash attention) keeps the random
batches — the same examples per step — and puts each batch end to end in one row with no
padding at all. The batches go through the training's own collators, which count the real and
padded tokens. Lengths follow an OSS-Instruct-like lognormal distribution capped at
max_training_seq_length; the default batch is the recipe's 2 rows per device.
    python benchmarks/pad_share.py [--rows 20000] [--batch 2]
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

import torch
from transformers.trainer_pt_utils import LengthGroupedSampler

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from magitui_core.training.sft_data import (
    CountingCollator,
    PackingCollator,
    PaddingCollator,
)


def lengths(rows: int, cap: int, seed: int) -> list[int]:
    rng = random.Random(seed)
    # Median ~430 tokens with a long tail, like generated problem + solution pairs.
    return [max(32, min(cap, int(rng.lognormvariate(6.07, 0.55)))) for _ in range(rows)]


def collate_all(
    collator: CountingCollator, order: list[int], sizes: list[int], batch: int
) -> CountingCollator:
    """Run every batch of ``order`` through the collator; it counts real and padded tokens."""
    for start in range(0, len(order), batch):
        collator(
            [
                {"input_ids": [7] * sizes[i], "labels": [7] * sizes[i]}
                for i in order[start : start + batch]
            ]
        )
    return collator


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=2, help="rows per device (recipe: 2)")
    parser.add_argument("--max-seq-len", type=int, default=1216)
    args = parser.parse_args()
    sizes = lengths(args.rows, args.max_seq_len, seed=0)
    shuffled = list(range(args.rows))
    random.Random(1).shuffle(shuffled)
    torch.manual_seed(1)
    grouped = list(LengthGroupedSampler(args.batch, lengths=sizes))
    recipe = collate_all(PaddingCollator(0), shuffled, sizes, args.batch)
    by_length = collate_all(PaddingCollator(0), grouped, sizes, args.batch)
    packed = collate_all(PackingCollator(), shuffled, sizes, args.batch)  # the same batches
    print(
        f"rows {args.rows}, batch {args.batch}, max_seq_len {args.max_seq_len}, "
        f"median length {sorted(sizes)[len(sizes) // 2]}"
    )
    print(
        f"padded share, random batches (the recipe; default):     {recipe.pad_share:6.1%}  "
        f"{recipe.tokens_per_batch:7,.0f} real tokens/batch"
    )
    print(
        f"padded share, --sampling group_by_length:              {by_length.pad_share:6.1%}  "
        f"{by_length.tokens_per_batch:7,.0f} real tokens/batch (other batches than the recipe's)"
    )
    print(
        f"padded share, random batches packed (--packing):       {packed.pad_share:6.1%}  "
        f"{packed.tokens_per_batch:7,.0f} real tokens/batch (the recipe's batches, one row each)"
    )
    print(
        "tokens computed per real token: "
        f"{1 / (1 - recipe.pad_share):.2f} random padded, "
        f"{1 / (1 - by_length.pad_share):.2f} grouped, 1.00 packed"
    )


if __name__ == "__main__":
    main()
