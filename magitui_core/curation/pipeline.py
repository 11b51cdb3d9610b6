"""Curation in one step: read, clean, dedupe, decontaminate, format, shuffle, write.

Replaces the original's clean_data.py, decontamination/find_substrings.py and
preprocess_data.py. Records are deduplicated in input order (the first one is kept), then
the kept ones are shuffled with a seed. Nothing is written until everything was read and
checked, and the output is renamed into place only when complete.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from magitui_core.atomic import write_json_atomic
from magitui_core.curation import dedupe, formats
from magitui_core.curation.decontaminate import ContaminationIndex, contaminated, parse_benchmarks
from magitui_core.curation.formats import AUTO, FORMATS, FormatError, Record
from magitui_core.curation.jsonl_io import BadLine, count_lines, read_jsonl, write_jsonl_atomic

EMPTY_PROBLEM = "empty problem"
EMPTY_SOLUTION = "empty solution"
DEDUPE_MODES = ("exact", "minhash", "none")
DEFAULT_SHUFFLE_SEED = 666  # the original clean_data.py's default
CHARS_PER_TOKEN = 3.5  # a conservative estimate for code when no tokenizer is at hand

# stage name, done, total
Progress = Callable[[str, int, int], None]


class CurationError(Exception):
    """Curation that cannot go ahead; the message names the file or option and the fix."""


@dataclass
class CurateOptions:
    fmt: str = AUTO
    dedupe: str = "exact"  # "minhash" = exact, then near-duplicates too
    minhash_threshold: float = 0.85
    decontaminate: tuple[str, ...] = ("humaneval",)
    shuffle: bool = True
    seed: int = DEFAULT_SHUFFLE_SEED

    def check(self) -> None:
        if self.fmt not in FORMATS:
            raise CurationError(f"--format {self.fmt}: unknown — one of {', '.join(FORMATS)}")
        if self.dedupe not in DEDUPE_MODES:
            raise CurationError(
                f"--dedupe {self.dedupe}: unknown — one of {', '.join(DEDUPE_MODES)}"
            )
        if not 0.0 < self.minhash_threshold <= 1.0:
            raise CurationError(
                f"--minhash-threshold {self.minhash_threshold}: must be above 0 and at most 1 "
                "(e.g. 0.85)"
            )


@dataclass
class InputSummary:
    file: str
    format: str
    records: int
    bad_lines: int


@dataclass
class LoadedInputs:
    records: list[Record]
    bad_lines: list[BadLine]
    inputs: list[InputSummary]


@dataclass
class Removal:
    record: Record
    reason: str
    detail: str

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.record.source,
            "reason": self.reason,
            "detail": self.detail,
            "record": self.record.raw,
        }


@dataclass
class CurationResult:
    kept: list[Record]
    removed: list[Removal]
    loaded: LoadedInputs
    options: CurateOptions
    output: str | None = None
    seconds: float = 0.0
    stage_seconds: dict[str, float] = field(default_factory=dict)

    @property
    def removed_by_reason(self) -> dict[str, int]:
        counts = Counter(removal.reason for removal in self.removed)
        return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))

    def summary(self) -> dict[str, Any]:
        return {
            "read": len(self.loaded.records),
            "bad_lines": len(self.loaded.bad_lines),
            "kept": len(self.kept),
            "removed": len(self.removed),
            "removed_by_reason": self.removed_by_reason,
        }

    def report(self) -> dict[str, Any]:
        """Everything a person needs to check the run: every removal with its reason."""
        return {
            "output": self.output,
            "options": asdict(self.options),
            "inputs": [asdict(item) for item in self.loaded.inputs],
            "summary": self.summary(),
            "seconds": round(self.seconds, 3),
            "stage_seconds": {k: round(v, 3) for k, v in self.stage_seconds.items()},
            "bad_lines": [str(bad) for bad in self.loaded.bad_lines],
            "removed": [removal.to_json() for removal in self.removed],
        }


def _missing(fmt: str, obj: dict[str, Any]) -> list[str]:
    return [name for name in formats.REQUIRED_FIELDS[fmt] if name not in obj]


def load_file(
    path: Path, fmt: str, bad: list[BadLine], progress: Progress | None = None
) -> tuple[list[Record], str]:
    """Read one input file as ``fmt`` (or detect it); returns its records and its format."""
    if not path.is_file():
        what = "a folder, not a file" if path.is_dir() else "no such file"
        raise CurationError(f"input {path}: {what} — give a JSONL file")
    total = count_lines(path) if progress is not None else 0
    records: list[Record] = []
    detected = None if fmt == AUTO else fmt
    first_fields: list[str] | None = None
    objects = 0
    try:
        for number, obj in read_jsonl(path, bad):
            objects += 1
            if first_fields is None:
                first_fields = sorted(obj)
            if detected is None:
                detected = formats.detect_format(obj)
                if detected is None:
                    bad.append(BadLine(str(path), number, _fields_problem(AUTO, obj)))
                    continue
            missing = _missing(detected, obj)
            if missing:
                bad.append(BadLine(str(path), number, _fields_problem(detected, obj)))
                continue
            records.append(formats.to_record(detected, obj, f"{path}:{number}"))
            if progress is not None and number % 5000 == 0:
                progress(f"read {path.name}", number, total)
    except OSError as exc:
        raise CurationError(f"input {path}: cannot read ({exc.strerror})") from None
    if objects and not records:
        has = ", ".join(first_fields or []) or "none"
        needs = formats.describe_needs(fmt)
        raise FormatError(f"input {path}: records have fields {has} — need {needs}")
    if progress is not None:
        progress(f"read {path.name}", total, total)
    return records, detected or fmt


def _fields_problem(fmt: str, obj: dict[str, Any]) -> str:
    has = ", ".join(sorted(obj)) or "none"
    if fmt == AUTO:
        return f"unknown record shape (fields: {has})"
    return f"missing {', '.join(_missing(fmt, obj))} for {fmt} (fields: {has})"


def load_inputs(
    paths: Sequence[Path], fmt: str = AUTO, progress: Progress | None = None
) -> LoadedInputs:
    if not paths:
        raise CurationError("no input files — give one or more JSONL files")
    records: list[Record] = []
    bad: list[BadLine] = []
    inputs: list[InputSummary] = []
    for path in paths:
        before = len(bad)
        file_records, file_format = load_file(path, fmt, bad, progress)
        records.extend(file_records)
        inputs.append(InputSummary(str(path), file_format, len(file_records), len(bad) - before))
    return LoadedInputs(records, bad, inputs)


def find_removals(
    records: Sequence[Record],
    options: CurateOptions,
    progress: Progress | None = None,
    timings: dict[str, float] | None = None,
    contamination: ContaminationIndex | None = None,
) -> dict[int, tuple[str, str]]:
    """Index → (reason, detail) for every record curation removes; the first rule wins."""
    options.check()
    removed: dict[int, tuple[str, str]] = {}
    timings = timings if timings is not None else {}

    def mark(found: list[tuple[int, str, str]], live: list[int]) -> None:
        # Stages see only the survivors: map their positions back to input indices.
        for position, reason, detail in found:
            removed[live[position]] = (reason, detail)

    started = time.perf_counter()
    for index, record in enumerate(records):
        if not record.problem.strip():
            removed[index] = (EMPTY_PROBLEM, "")
        elif not record.solution.strip():
            removed[index] = (EMPTY_SOLUTION, "")
    timings["clean"] = time.perf_counter() - started

    def survivors() -> list[int]:
        return [i for i in range(len(records)) if i not in removed]

    if options.dedupe != "none":
        started = time.perf_counter()
        live = survivors()

        def exact_progress(done: int, total: int) -> None:
            if progress is not None:
                progress("exact dedupe", done, total)

        mark(dedupe.exact_duplicates([records[i] for i in live], exact_progress), live)
        live = survivors()
        mark(dedupe.copied_solutions([records[i] for i in live]), live)
        timings["exact dedupe"] = time.perf_counter() - started
        if progress is not None:
            progress("exact dedupe", len(records), len(records))
    if options.dedupe == "minhash":
        started = time.perf_counter()
        live = survivors()

        def near_progress(done: int, total: int) -> None:
            if progress is not None:
                progress("near dedupe", done, total)

        found = dedupe.near_duplicates(
            [records[i] for i in live], options.minhash_threshold, progress=near_progress
        )
        mark(found, live)
        timings["near dedupe"] = time.perf_counter() - started
    if options.decontaminate:
        started = time.perf_counter()
        if contamination is None:
            contamination = ContaminationIndex.for_benchmarks(options.decontaminate)
        live = survivors()

        def decon_progress(done: int, total: int) -> None:
            if progress is not None:
                progress("decontaminate", done, total)

        mark(contaminated([records[i] for i in live], contamination, decon_progress), live)
        timings["decontaminate"] = time.perf_counter() - started
    return removed


def curate_records(
    loaded: LoadedInputs,
    options: CurateOptions,
    progress: Progress | None = None,
    index: ContaminationIndex | None = None,
) -> CurationResult:
    """Decide what to keep, and in what order; writes nothing."""
    started = time.perf_counter()
    timings: dict[str, float] = {}
    removed_at = find_removals(loaded.records, options, progress, timings, index)
    kept = [r for i, r in enumerate(loaded.records) if i not in removed_at]
    if options.shuffle:
        random.Random(options.seed).shuffle(kept)
    removals = [
        Removal(loaded.records[i], reason, detail)
        for i, (reason, detail) in sorted(removed_at.items())
    ]
    result = CurationResult(kept, removals, loaded, options, stage_seconds=timings)
    result.seconds = time.perf_counter() - started
    return result


def curate(
    inputs: Sequence[Path],
    out: Path,
    options: CurateOptions | None = None,
    report_path: Path | None = None,
    progress: Progress | None = None,
) -> CurationResult:
    """Read ``inputs``, curate them, write formatted JSONL to ``out`` and the report."""
    options = options or CurateOptions()
    options.check()
    try:
        benchmarks = tuple(parse_benchmarks(",".join(options.decontaminate)))
    except ValueError as exc:
        raise CurationError(str(exc)) from None
    options.decontaminate = benchmarks
    resolved_out = out.resolve()
    for path in inputs:
        if path.resolve() == resolved_out:
            raise CurationError(f"--out {out} is also an input — write to another file")
        if report_path is not None and path.resolve() == report_path.resolve():
            raise CurationError(f"--report {report_path} is also an input — choose another file")
    started = time.perf_counter()
    # Benchmarks first: one that cannot be loaded offline fails before any reading.
    index = ContaminationIndex.for_benchmarks(benchmarks) if benchmarks else None
    loaded = load_inputs(inputs, options.fmt, progress)
    read_seconds = time.perf_counter() - started
    if not loaded.records:
        where = ", ".join(map(str, inputs))
        if not loaded.bad_lines:  # an empty file (a generation that has not written yet)
            raise CurationError(
                f"no records in {where}: the input is empty — generate into it first "
                "(magitui generate) or give another file; nothing written"
            )
        first = loaded.bad_lines[0]
        raise CurationError(
            f"no usable records in {where}: all {len(loaded.bad_lines)} line(s) are bad "
            f"(first: {first}) — fix or regenerate the file; nothing written"
        )
    result = curate_records(loaded, options, progress, index)
    result.output = str(out)
    write_started = time.perf_counter()
    if progress is not None:
        progress("write", 0, len(result.kept))
    try:
        write_jsonl_atomic(out, (record.formatted() for record in result.kept))
    except OSError as exc:
        raise CurationError(
            f"--out {out}: cannot write ({exc.strerror}) — previous file kept"
        ) from None
    if progress is not None:
        progress("write", len(result.kept), len(result.kept))
    result.stage_seconds = {"read": read_seconds, **result.stage_seconds}
    result.stage_seconds["write"] = time.perf_counter() - write_started
    result.seconds = time.perf_counter() - started
    if report_path is not None:
        try:
            write_json_atomic(report_path, result.report())
        except OSError as exc:
            raise CurationError(f"--report {report_path}: cannot write ({exc.strerror})") from None
    return result


def estimated_tokens(record: Record) -> int:
    """Training tokens of a record, estimated from its characters (no download needed)."""
    from magitui_core.prompts import training_text

    return int(len(training_text(record.instruction, record.response)) / CHARS_PER_TOKEN) + 1
