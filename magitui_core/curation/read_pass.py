"""One pass over curation's inputs: each record's facts, its formatted line, and where it lies.

Everything this pass works out for a record depends on that record alone, so a big file is cut
into pieces that worker processes read at once, and what they find is put together in input
order: the same facts, line numbers, bad lines and output bytes as one process reading every
line (tests compare the two on hostile files). The workers are forked, after the benchmarks'
matcher is built, so they share it instead of building it again, and so that the dedupe keys
(Python's string hashes, salted per process family) agree with this process's.

Formatted lines wait, unnamed, beside the output in a ``Spool`` (one file per writing process)
until the processing order is known; the kept ones are then copied into the output in that
order.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import tempfile
import time
import warnings
from array import array
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from itertools import accumulate
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from magitui_core.atomic import atomic_writer
from magitui_core.curation.errors import CurationError
from magitui_core.curation.facts import RecordFacts
from magitui_core.curation.formats import AUTO, detect_format
from magitui_core.curation.jsonl_io import BadLine, JsonlPiece, count_lines, training_line
from magitui_core.curation.reading import (
    FileReader,
    InputSummary,
    LoadedInputs,
    Progress,
    StoredRecords,
)

if TYPE_CHECKING:
    from magitui_core.curation.decontaminate import Matcher
    from magitui_core.curation.pipeline import CurateOptions

WRITE_CHUNK = 1 << 20  # bytes of output lines gathered per write
PIECE_BYTES = 4 << 20  # of input a worker reads at a time: small enough to spread the work
MAX_WORKERS = 8  # by default: beyond this the single-process rules, not the reading, dominate
MAX_WORKERS_ASKED = 64  # when asked for


@dataclass(frozen=True)
class Parallelism:
    """How many processes read the inputs: ``workers`` 0 = one per CPU this process may use
    (at most MAX_WORKERS), 1 = this process alone."""

    workers: int = 0
    piece_bytes: int = PIECE_BYTES

    def __post_init__(self) -> None:
        if not 0 <= self.workers <= MAX_WORKERS_ASKED:
            raise CurationError(
                f"--workers {self.workers}: must be 0 (one per CPU) to {MAX_WORKERS_ASKED}"
            )

    def count(self) -> int:
        if self.workers > 0:
            return self.workers
        try:
            cpus = len(os.sched_getaffinity(0))
        except AttributeError:  # not on Linux
            cpus = os.cpu_count() or 1
        return max(1, min(cpus, MAX_WORKERS))


def can_fork() -> bool:
    """Whether reading workers are forked here: on Linux. macOS forks unsafely once its
    frameworks are loaded, and Windows cannot fork.

    Other threads of this process (tqdm's monitor, started by a Hub download of a benchmark,
    say) do not stop it: a worker runs only the reading code of this module, which takes no
    lock that another thread of the parent could hold at the fork (it opens its own files, and
    reports through the pool's own pipes)."""
    return sys.platform.startswith("linux")


class Spool:
    """Formatted lines, in unnamed files beside the output: one per process that writes them
    (slot 0 is this process's), with each record's slot, start and size."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.files: list[IO[bytes]] = []
        self.ends: list[int] = []
        self.slot = bytearray()
        self.start = array("q")
        self.size = array("q")
        self.add_slots(1)

    def add_slots(self, count: int) -> None:
        out = self.out
        try:
            for _ in range(count):
                # Closed by close(): the files live as long as the spool.
                file = tempfile.TemporaryFile(prefix=f".{out.name}.", dir=out.parent)  # noqa: SIM115
                self.files.append(file)
                self.ends.append(0)
        except OSError as exc:
            raise CurationError(f"--out {out}: cannot write ({exc.strerror})") from None

    def flush(self) -> None:
        for file in self.files:
            file.flush()

    def write(self, slot: int, lines: list[str]) -> None:
        """Append the ASCII ``lines`` of the next records to ``slot``'s file."""
        sizes = list(map(len, lines))  # ASCII: a byte a character
        starts = accumulate(sizes[:-1], initial=self.ends[slot])
        try:
            self.files[slot].write("".join(lines).encode("ascii"))
        except OSError as exc:
            raise CurationError(f"cannot write beside the output ({exc.strerror})") from None
        self.slot.extend(bytes([slot]) * len(lines))
        self.start.extend(starts)
        self.size.extend(sizes)
        self.ends[slot] += sum(sizes)

    def take(self) -> tuple[bytearray, array[int], array[int]]:
        """The places written since the last ``take`` (a worker hands them over a piece at a
        time), flushed so that other processes read them."""
        self.flush()
        taken = (self.slot, self.start, self.size)
        self.slot, self.start, self.size = bytearray(), array("q"), array("q")
        return taken

    def extend(self, taken: tuple[bytearray, array[int], array[int]]) -> None:
        slot, start, size = taken
        self.slot.extend(slot)
        self.start.extend(start)
        self.size.extend(size)

    def write_kept(self, kept: Sequence[int], progress: Progress | None) -> None:
        """The kept records' lines, in processing order, into the output (atomically)."""
        out = self.out
        if progress is not None:
            progress("write", 0, len(kept))
        fds = [file.fileno() for file in self.files]
        self.flush()
        slots, starts, sizes = self.slot, self.start, self.size
        try:
            with atomic_writer(out) as handle:
                sink = handle.buffer  # the lines are bytes already
                chunk: list[bytes] = []
                size = 0
                for index in kept:
                    chunk.append(os.pread(fds[slots[index]], sizes[index], starts[index]))
                    size += sizes[index]
                    if size >= WRITE_CHUNK:
                        sink.write(b"".join(chunk))
                        chunk, size = [], 0
                sink.write(b"".join(chunk))
        except OSError as exc:
            raise CurationError(
                f"--out {out}: cannot write ({exc.strerror}) — previous file kept"
            ) from None
        if progress is not None:
            progress("write", len(kept), len(kept))

    def close(self) -> None:
        for file in self.files:
            file.close()


IO_STAGES = ("read", "write")


def read_part(
    reader: FileReader, facts: RecordFacts, store: StoredRecords, spool: Spool, slot: int
) -> None:
    """Read ``reader``'s records into ``facts``, ``store`` and ``spool``; the time goes to
    the facts' stages, and to ``read`` and ``write``."""
    timings = facts.timings
    started = time.perf_counter()
    checks_before = sum(seconds for stage, seconds in timings.items() if stage not in IO_STAGES)
    writing = 0.0
    for batch in reader.batches(store):
        facts.add(batch)
        write_started = time.perf_counter()
        # ASCII-escaped like upstream's json.dumps, so the same records give the same bytes.
        spool.write(slot, [training_line(r.instruction, r.response) for r in batch])
        writing += time.perf_counter() - write_started
    checks = sum(s for stage, s in timings.items() if stage not in IO_STAGES) - checks_before
    timings["write"] = timings.get("write", 0.0) + writing
    reading = time.perf_counter() - started - checks - writing
    timings["read"] = timings.get("read", 0.0) + reading


@dataclass(frozen=True)
class _Piece:
    path: Path
    fmt: str
    start: int
    end: int | None


@dataclass
class _PieceRead:
    reader: FileReader  # what it read: lines, objects, records, first fields, bad lines
    store: StoredRecords  # numbered likewise
    facts: RecordFacts
    spooled: tuple[bytearray, array[int], array[int]]


@dataclass
class _Shared:
    """What workers inherit at the fork: set just before the pool starts."""

    options: CurateOptions
    matcher: Matcher | None
    spool: Spool
    next_slot: Any  # a multiprocessing.Value shared by the workers
    slot: int = 0


_shared: _Shared | None = None


def _start_worker() -> None:
    assert _shared is not None
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # ctrl+c is the parent's to handle
    with _shared.next_slot.get_lock():
        _shared.slot = _shared.next_slot.value
        _shared.next_slot.value += 1
    _shared.spool.take()  # the places this process had written are its parent's to keep


def _read_piece(piece: _Piece) -> _PieceRead:
    shared = _shared
    assert shared is not None
    bad: list[BadLine] = []
    reader = FileReader(piece.path, piece.fmt, bad, start=piece.start, end=piece.end)
    store = StoredRecords()
    facts = RecordFacts(shared.options, shared.matcher, {})
    read_part(reader, facts, store, shared.spool, shared.slot)
    return _PieceRead(reader, store, facts, shared.spool.take())


def _format_line_end(path: Path, fmt: str) -> int | None:
    """Where the line that settles a file's format ends: 0 when the format is given, None when
    no line settles it (then no line is a record)."""
    if fmt != AUTO:
        return 0
    for _, offset, length, obj in JsonlPiece(path, []):
        if detect_format(obj) is not None:
            return offset + length
    return None


class ReadPass:
    """Reads every input into ``facts``, ``records`` and ``spool``, in input order; big files in
    pieces, by forked workers (``workers`` says how many took part: 1 = this process only)."""

    def __init__(
        self,
        options: CurateOptions,
        matcher: Matcher | None,
        records: StoredRecords,
        spool: Spool,
        progress: Progress | None,
        parallelism: Parallelism,
    ) -> None:
        self.options, self.matcher, self.records = options, matcher, records
        self.spool, self.progress, self.parallelism = spool, progress, parallelism
        self.facts = RecordFacts(options, matcher, {})
        self.bad: list[BadLine] = []
        self.workers = 1
        self._pool: ProcessPoolExecutor | None = None

    def run(self, inputs: Sequence[Path]) -> LoadedInputs:
        global _shared
        summaries: list[InputSummary] = []
        try:
            for path in inputs:
                before = len(self.bad)
                file = self.records.add_file(path, self.options.fmt)
                reader = self._read_file(path)
                self.records.set_format(file, reader.format)
                summaries.append(
                    InputSummary(str(path), reader.format, reader.records, len(self.bad) - before)
                )
        except BrokenProcessPool:
            raise CurationError(
                "a reading worker died (killed, or out of memory?) — nothing written; run "
                "again, or with --workers 1 to read in one process"
            ) from None
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=True, cancel_futures=True)
            _shared = None
        return LoadedInputs(self.records, self.bad, summaries)

    def _read_file(self, path: Path) -> FileReader:
        fmt, progress = self.options.fmt, self.progress
        reader = FileReader(path, fmt, self.bad, progress)
        bounds = self._bounds(reader)
        if not bounds:
            read_part(reader, self.facts, self.records, self.spool, 0)
            return reader
        # The lines up to the one that settles the format (the first, in a good file) here.
        reader.progress, reader.end = None, bounds[0][0]
        read_part(reader, self.facts, self.records, self.spool, 0)
        pieces = [_Piece(path, reader.format, start, end) for start, end in bounds]
        parts = self._start_pool().map(_read_piece, pieces)
        total = count_lines(path) if progress is not None else 0  # while the workers read
        for part in parts:
            self._absorb(reader, part)
            if progress is not None:
                progress(f"read {path.name}", reader.lines, total)
        reader.check_found()
        return reader

    def _bounds(self, reader: FileReader) -> list[tuple[int, int | None]]:
        """Where the pieces that workers read begin and end; none when the file is read here
        alone (small, or nothing to share the work with)."""
        reader.check_exists()
        parallelism = self.parallelism
        workers = parallelism.count() if self._pool is None else self.workers
        least = 2 * parallelism.piece_bytes
        size = reader.path.stat().st_size
        if workers < 2 or size < least:
            return []
        if not can_fork():
            return []
        first = _format_line_end(reader.path, reader.fmt)
        if first is None or size - first < least:
            return []
        self.workers = workers
        starts = list(range(first, size, parallelism.piece_bytes))
        ends: list[int | None] = [*starts[1:], None]  # the last piece reads to the end
        return list(zip(starts, ends, strict=True))

    def _start_pool(self) -> ProcessPoolExecutor:
        """The workers, forked when first needed (``_shared`` stays set until ``run`` ends:
        the pool forks them as work comes)."""
        global _shared
        if self._pool is None:
            context = multiprocessing.get_context("fork")
            self.spool.add_slots(self.workers)
            self.spool.flush()  # a fork copies unwritten buffers, to be written twice
            _shared = _Shared(self.options, self.matcher, self.spool, context.Value("i", 1))
            self._pool = ProcessPoolExecutor(
                self.workers, mp_context=context, initializer=_start_worker
            )
            with warnings.catch_warnings():
                # Python 3.12+ warns on any fork from a process with threads; see can_fork.
                warnings.filterwarnings("ignore", "This process .* is multi-threaded")
                self._pool.submit(int).result()  # forks the workers now, within the filter
        return self._pool

    def _absorb(self, reader: FileReader, part: _PieceRead) -> None:
        """Add a piece's findings after what was read before it."""
        base = reader.lines
        piece = part.reader
        self.bad.extend(BadLine(bad.file, bad.line + base, bad.reason) for bad in piece.bad)
        store = part.store
        self.records.extend((number + base for number in store.line), store.offset, store.length)
        self.facts.merge(part.facts)
        self.spool.extend(part.spooled)
        reader.absorb(piece)
