"""Realistic OSS-Instruct-like records, deterministic from a seed (tests and the benchmark)."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

LANGS = ("python", "rust", "typescript", "java", "cpp", "shell")
NOUNS = (
    "inventory",
    "matrix",
    "graph",
    "cache",
    "parser",
    "queue",
    "ledger",
    "sensor",
    "tokenizer",
    "scheduler",
    "router",
    "bitmap",
    "histogram",
    "playlist",
    "invoice",
    "catalog",
    "session",
)
VERBS = (
    "merge",
    "validate",
    "normalise",
    "aggregate",
    "serialise",
    "rank",
    "filter",
    "compress",
    "schedule",
    "reconcile",
    "partition",
    "deduplicate",
    "interpolate",
    "summarise",
    "route",
)
WORDS = (
    "the",
    "function",
    "should",
    "return",
    "each",
    "value",
    "given",
    "input",
    "list",
    "of",
    "items",
    "when",
    "empty",
    "raise",
    "error",
    "handle",
    "edge",
    "cases",
    "order",
    "result",
    "number",
    "string",
    "key",
    "map",
    "count",
    "total",
    "index",
    "window",
    "size",
    "limit",
)


def _sentence(rng: random.Random, length: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(length)).capitalize() + "."


def _code(rng: random.Random, name: str, lines: int) -> str:
    body = []
    for i in range(lines):
        var = f"{rng.choice(NOUNS)}_{i}"
        body.append(f"    {var} = {rng.choice(VERBS)}({rng.choice(NOUNS)}, {rng.randint(0, 999)})")
    body.append(f"    return {var}")
    return f"def {name}(data):\n" + "\n".join(body) + "\n"


def synthetic_record(rng: random.Random, index: int) -> dict[str, Any]:
    """One record with lognormal-ish lengths like OSS-Instruct's (most 1–4 KB)."""
    noun, verb = rng.choice(NOUNS), rng.choice(VERBS)
    name = f"{verb}_{noun}_{index}"
    sentences = max(2, int(rng.lognormvariate(1.8, 0.5)))
    problem = (
        f"You are building a {noun} service. Write a function `{name}` that will {verb} "
        f"records. "
        + " ".join(_sentence(rng, rng.randint(6, 16)) for _ in range(sentences))
        + f"\n\n```python\n{_code(rng, name + '_stub', 3)}```\n"
    )
    solution_lines = max(4, int(rng.lognormvariate(2.6, 0.6)))
    solution = f"```python\n{_code(rng, name, solution_lines)}```\n\n" + " ".join(
        _sentence(rng, rng.randint(6, 14)) for _ in range(3)
    )
    seed = _code(rng, f"seed_{index}", rng.randint(3, 12))
    return {
        "index": index,
        "lang": rng.choice(LANGS),
        "seed": seed,
        "problem": problem,
        "solution": solution,
        "model": "teacher",
        "finish_reason": "stop",
    }


def synthetic_records(count: int, seed: int = 0, duplicate_every: int = 0) -> list[dict[str, Any]]:
    """``count`` records; with ``duplicate_every`` N, every Nth repeats an earlier one's problem."""
    rng = random.Random(seed)
    records = []
    for index in range(count):
        record = synthetic_record(rng, index)
        if duplicate_every and index and index % duplicate_every == 0:
            earlier = records[rng.randrange(len(records))]
            record["problem"] = earlier["problem"].replace("\n", "\n\n", 1)  # whitespace differs
        records.append(record)
    return records


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    with path.open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record) + "\n")
    return path
