"""Examples are built exactly like Magicoder's: BOS + prompt (masked) + response + EOS."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from magitui_core.prompts import training_prompt
from magitui_core.training.sft_data import (
    IGNORED_INDEX,
    DataFileError,
    PaddingCollator,
    read_instruction_pairs,
    tokenize_pairs,
)


@pytest.fixture(scope="module")
def tokenizer(tiny_model: Path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_model)


def test_prompt_is_masked_and_response_ends_with_eos(tokenizer) -> None:
    data = tokenize_pairs(tokenizer, [("Sort a list.", "sorted(x)")], max_len=4096)
    (example,) = data.examples
    prompt_ids = tokenizer(training_prompt("Sort a list."), add_special_tokens=False)["input_ids"]
    response_ids = tokenizer("sorted(x)", add_special_tokens=False)["input_ids"]
    assert example["input_ids"] == [
        tokenizer.bos_token_id,
        *prompt_ids,
        *response_ids,
        tokenizer.eos_token_id,
    ]
    assert example["labels"] == [IGNORED_INDEX] * (1 + len(prompt_ids)) + [
        *response_ids,
        tokenizer.eos_token_id,
    ]
    assert data.truncated == 0


def test_truncation_is_counted(tokenizer) -> None:
    pairs = [("short", "x"), ("long " * 200, "y" * 500)]
    data = tokenize_pairs(tokenizer, pairs, max_len=64)
    assert data.truncated == 1
    assert max(len(e["input_ids"]) for e in data.examples) == 64
    assert all(len(e["input_ids"]) == len(e["labels"]) for e in data.examples)


def test_bad_lines_are_reported_with_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    path.write_text(
        json.dumps({"instruction": "a", "response": "b"})
        + "\n"
        + "{not json\n"
        + json.dumps({"problem": "p", "solution": "s"})
        + "\n"
    )
    pairs, skipped = read_instruction_pairs([path])
    assert pairs == [("a", "b")]
    assert skipped[0].startswith(f"{path}:2: not JSON")
    assert skipped[1] == (
        f"{path}:3: needs fields instruction, response; has problem, solution — "
        "format the data first: magitui preprocess"
    )
    only_bad = tmp_path / "bad.jsonl"
    only_bad.write_text("{}\n")
    with pytest.raises(DataFileError, match=r"no usable rows in .*bad.jsonl \(1 skipped"):
        read_instruction_pairs([only_bad])
    with pytest.raises(DataFileError, match="cannot read training data"):
        read_instruction_pairs([tmp_path / "missing.jsonl"])


def test_collator_pads_right_and_counts_padding() -> None:
    collator = PaddingCollator(pad_token_id=0)
    batch = collator(
        [
            {"input_ids": [5, 6, 7], "labels": [-100, 6, 7]},
            {"input_ids": [8], "labels": [8]},
        ]
    )
    assert batch["input_ids"].tolist() == [[5, 6, 7], [8, 0, 0]]
    assert batch["labels"].tolist() == [[-100, 6, 7], [8, -100, -100]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]
    assert (collator.real_tokens, collator.padded_tokens) == (4, 2)
    assert collator.pad_share == pytest.approx(2 / 6)
