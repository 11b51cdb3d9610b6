"""Supervised fine-tuning examples: the Magicoder prompt, BOS on the prompt, EOS after the
response, labels masked on the prompt, and a collator that counts real and padded tokens."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from magitui_core.prompts import training_prompt

IGNORED_INDEX = -100  # CrossEntropyLoss ignores these label positions


class DataFileError(ValueError):
    """Training data that cannot be used; the message names the file, line and fix."""


@dataclass
class TokenizedData:
    examples: list[dict[str, list[int]]]
    rows: int
    truncated: int
    skipped: list[str] = field(default_factory=list)  # "file:line: reason"


def read_instruction_pairs(paths: list[Path]) -> tuple[list[tuple[str, str]], list[str]]:
    """(instruction, response) pairs from JSONL files; bad lines are reported, not fatal."""
    pairs: list[tuple[str, str]] = []
    skipped: list[str] = []
    for path in paths:
        try:
            handle = path.open(encoding="utf-8")
        except OSError as exc:
            raise DataFileError(f"cannot read training data {path}: {exc.strerror}") from None
        with handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as exc:
                    skipped.append(f"{path}:{number}: not JSON ({exc.msg})")
                    continue
                if not isinstance(record, dict) or not {"instruction", "response"} <= set(record):
                    keys = ", ".join(sorted(record)) if isinstance(record, dict) else "none"
                    skipped.append(
                        f"{path}:{number}: needs fields instruction, response; has {keys} — "
                        "format the data first: magitui preprocess"
                    )
                    continue
                pairs.append((str(record["instruction"]), str(record["response"])))
    if not pairs:
        raise DataFileError(
            f"no usable rows in {', '.join(map(str, paths))}"
            + (f" ({len(skipped)} skipped; first: {skipped[0]})" if skipped else "")
        )
    return pairs, skipped


def tokenize_pairs(tokenizer: Any, pairs: list[tuple[str, str]], max_len: int) -> TokenizedData:
    """Token ids and masked labels per example, truncated to ``max_len`` (counted)."""
    bos = [tokenizer.bos_token_id] if tokenizer.bos_token_id is not None else []
    eos = [tokenizer.eos_token_id] if tokenizer.eos_token_id is not None else []
    prompts = tokenizer(
        [training_prompt(instruction) for instruction, _ in pairs], add_special_tokens=False
    )["input_ids"]
    responses = tokenizer([response for _, response in pairs], add_special_tokens=False)[
        "input_ids"
    ]
    examples = []
    truncated = 0
    for prompt_ids, response_ids in zip(prompts, responses, strict=True):
        prompt_ids = bos + prompt_ids
        response_ids = response_ids + eos
        input_ids = prompt_ids + response_ids
        labels = [IGNORED_INDEX] * len(prompt_ids) + response_ids
        if len(input_ids) > max_len:
            truncated += 1
            input_ids, labels = input_ids[:max_len], labels[:max_len]
        examples.append({"input_ids": input_ids, "labels": labels, "length": len(input_ids)})
    return TokenizedData(examples=examples, rows=len(pairs), truncated=truncated)


class CountingCollator:
    """Keeps count of the real and padded tokens of every batch it builds."""

    def __init__(self) -> None:
        self.real_tokens = 0
        self.padded_tokens = 0
        self.batches = 0

    def _count(self, real: int, padded: int) -> None:
        self.real_tokens += real
        self.padded_tokens += padded
        self.batches += 1

    @property
    def pad_share(self) -> float:
        total = self.real_tokens + self.padded_tokens
        return self.padded_tokens / total if total else 0.0

    @property
    def tokens_per_batch(self) -> float:
        """Real tokens per batch on this rank, averaged over the batches built so far."""
        return self.real_tokens / self.batches if self.batches else 0.0


class PaddingCollator(CountingCollator):
    """Right-pads a batch to its longest row and keeps count of real vs padded tokens."""

    def __init__(self, pad_token_id: int) -> None:
        super().__init__()
        self.pad_token_id = pad_token_id

    def __call__(self, features: list[dict[str, Any]]) -> dict[str, Any]:
        import torch

        longest = max(len(f["input_ids"]) for f in features)
        input_ids, labels, mask = [], [], []
        for feature in features:
            pad = longest - len(feature["input_ids"])
            input_ids.append(list(feature["input_ids"]) + [self.pad_token_id] * pad)
            labels.append(list(feature["labels"]) + [IGNORED_INDEX] * pad)
            mask.append([1] * len(feature["input_ids"]) + [0] * pad)
        real = sum(len(f["input_ids"]) for f in features)
        self._count(real, longest * len(features) - real)
        return {
            "input_ids": torch.tensor(input_ids, dtype=torch.long),
            "labels": torch.tensor(labels, dtype=torch.long),
            "attention_mask": torch.tensor(mask, dtype=torch.long),
        }


class PackingCollator(CountingCollator):
    """Padding-free packing: the batch's examples end to end in one row, no padding.

    transformers' DataCollatorWithFlattening restarts `position_ids` at 0 for every example
    and returns no attention mask; from those position ids the model's mask builder (eager,
    sdpa, flex) or flash-attention's varlen kernel keeps each example to itself. The first
    label of every example is IGNORED_INDEX, so no example learns to predict the next one's
    first token (ours are masked prompts there anyway).
    """

    def __init__(self) -> None:
        from transformers import DataCollatorWithFlattening

        super().__init__()
        self._flatten = DataCollatorWithFlattening(
            return_position_ids=True, separator_id=IGNORED_INDEX
        )

    def __call__(self, features: list[dict[str, Any]]) -> dict[str, Any]:
        rows = [{"input_ids": f["input_ids"], "labels": f["labels"]} for f in features]
        batch = self._flatten(rows)
        self._count(int(batch["input_ids"].numel()), 0)
        return batch
