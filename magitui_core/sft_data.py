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


class PaddingCollator:
    """Right-pads a batch to its longest row and keeps count of real vs padded tokens."""

    def __init__(self, pad_token_id: int) -> None:
        self.pad_token_id = pad_token_id
        self.real_tokens = 0
        self.padded_tokens = 0

    def __call__(self, features: list[dict[str, Any]]) -> dict[str, Any]:
        import torch

        longest = max(len(f["input_ids"]) for f in features)
        input_ids, labels, mask = [], [], []
        for feature in features:
            pad = longest - len(feature["input_ids"])
            input_ids.append(list(feature["input_ids"]) + [self.pad_token_id] * pad)
            labels.append(list(feature["labels"]) + [IGNORED_INDEX] * pad)
            mask.append([1] * len(feature["input_ids"]) + [0] * pad)
            self.real_tokens += len(feature["input_ids"])
            self.padded_tokens += pad
        return {
            "input_ids": torch.tensor(input_ids, dtype=torch.long),
            "labels": torch.tensor(labels, dtype=torch.long),
            "attention_mask": torch.tensor(mask, dtype=torch.long),
        }

    @property
    def pad_share(self) -> float:
        total = self.real_tokens + self.padded_tokens
        return self.padded_tokens / total if total else 0.0
