"""Fixtures for real training runs on the CPU: a tiny model and small instruction files."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from tests.tiny_model import build_tiny_model


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny-model"))


def write_pairs(path: Path, rows: int, seed: int = 0) -> Path:
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as handle:
        for i in range(rows):
            record = {
                "instruction": "Write a solution to the following coding problem:\n"
                + f"Add the numbers {i} and {i + 1}."
                + " Then print it." * rng.randint(0, 12),
                "response": "def add(a, b):\n    return a + b\n" * rng.randint(1, 6),
            }
            handle.write(json.dumps(record) + "\n")
    return path


@pytest.fixture
def train_file(tmp_path: Path) -> Path:
    return write_pairs(tmp_path / "train.jsonl", 40)
