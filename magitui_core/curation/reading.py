"""Reading curation's inputs: records in batches from a file or a piece of one, and records
left in their files (``StoredRecords``), read again from their own lines only when needed."""

from __future__ import annotations

import bisect
import contextlib
import os
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, overload

from magitui_core.curation import formats
from magitui_core.curation.decontaminate import BATCH
from magitui_core.curation.errors import CurationError
from magitui_core.curation.formats import AUTO, FormatError, Record
from magitui_core.curation.jsonl_io import BadLine, JsonlPiece, count_lines, parse_line

# stage name, done, total
Progress = Callable[[str, int, int], None]


@dataclass
class InputSummary:
    file: str
    format: str
    records: int
    bad_lines: int


@dataclass
class LoadedInputs:
    records: Sequence[Record]
    bad_lines: list[BadLine]
    inputs: list[InputSummary]


class StoredRecords(Sequence[Record]):
    """Records left in their input files: each is read again, from its own line, when asked for.

    A pass over 100 000 records keeps a few numbers per record here instead of the records.
    Inside ``opened()`` the input files stay open for those reads.
    """

    def __init__(self) -> None:
        self.files: list[tuple[Path, str]] = []  # path, format
        self.first: list[int] = []  # the index of each file's first record
        self.line = array("q")
        self.offset = array("q")
        self.length = array("q")
        self._fds: dict[int, int] | None = None

    def add_file(self, path: Path, fmt: str) -> int:
        """Start a file: the records added next are its own, until the next file."""
        self.files.append((path, fmt))
        self.first.append(len(self))
        return len(self.files) - 1

    def set_format(self, file: int, fmt: str) -> None:
        self.files[file] = (self.files[file][0], fmt)

    def extend(self, lines: Iterable[int], offsets: Iterable[int], lengths: Iterable[int]) -> None:
        """Records of the current file: line numbers, byte offsets and lengths of their lines."""
        self.line.extend(lines)
        self.offset.extend(offsets)
        self.length.extend(lengths)

    def _file(self, index: int) -> int:
        return bisect.bisect_right(self.first, index) - 1

    def __len__(self) -> int:
        return len(self.line)

    @overload
    def __getitem__(self, index: int) -> Record: ...

    @overload
    def __getitem__(self, index: slice) -> list[Record]: ...

    def __getitem__(self, index: int | slice) -> Record | list[Record]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        path, fmt = self.files[self._file(index)]
        obj = parse_line(self._read(index))
        return formats.to_record(fmt, obj, f"{path}:{self.line[index]}")

    def source(self, index: int) -> str:
        """``file:line`` of a record, without reading it."""
        return f"{self.files[self._file(index)][0]}:{self.line[index]}"

    def _read(self, index: int) -> bytes:
        file, offset, length = self._file(index), self.offset[index], self.length[index]
        if self._fds is None:
            with self.files[file][0].open("rb") as handle:
                handle.seek(offset)
                return handle.read(length)
        if file not in self._fds:
            self._fds[file] = os.open(self.files[file][0], os.O_RDONLY)
        return os.pread(self._fds[file], length, offset)

    @contextlib.contextmanager
    def opened(self) -> Iterator[StoredRecords]:
        self._fds = {}
        try:
            yield self
        finally:
            fds, self._fds = self._fds, None
            for fd in fds.values():
                os.close(fd)


class RecordView(Sequence[Record]):
    """Some of a sequence's records, in a given order (read only when asked for)."""

    def __init__(self, records: Sequence[Record], indices: Sequence[int]) -> None:
        self.records = records
        self.indices = indices

    def __len__(self) -> int:
        return len(self.indices)

    @overload
    def __getitem__(self, index: int) -> Record: ...

    @overload
    def __getitem__(self, index: slice) -> list[Record]: ...

    def __getitem__(self, index: int | slice) -> Record | list[Record]:
        if isinstance(index, slice):
            return [self.records[i] for i in self.indices[index]]
        return self.records[self.indices[index]]


def _missing(fmt: str, obj: dict[str, Any]) -> list[str]:
    return [name for name in formats.REQUIRED_FIELDS[fmt] if name not in obj]


class FileReader:
    """The records of one input file, or of a piece of it, in order, in batches; bad lines go
    to ``bad``.

    ``format`` is the file's format once read (detected from its first fitting object). A piece
    (``start``/``end``, as ``JsonlPiece``) numbers its lines from 1; ``lines``, ``objects``,
    ``records`` and ``first_fields`` say what it read, so that pieces read elsewhere can be
    added up (``absorb``) and checked as one file (``check_found``).
    """

    def __init__(
        self,
        path: Path,
        fmt: str,
        bad: list[BadLine],
        progress: Progress | None = None,
        start: int = 0,
        end: int | None = None,
    ) -> None:
        self.path, self.fmt, self.bad, self.progress = path, fmt, bad, progress
        self.start, self.end = start, end
        self.detected = None if fmt == AUTO else fmt
        self.lines = 0
        self.objects = 0
        self.records = 0
        self.first_fields: list[str] | None = None

    @property
    def format(self) -> str:
        return self.detected or self.fmt

    def check_exists(self) -> None:
        if not self.path.is_file():
            what = "a folder, not a file" if self.path.is_dir() else "no such file"
            raise CurationError(f"input {self.path}: {what} — give a JSONL file")

    def batches(self, store: StoredRecords | None = None) -> Iterator[list[Record]]:
        """Lists of up to BATCH records; ``store`` hears where each one's line lies.

        A whole file (no ``start``/``end``) is also checked: it must exist, and hold records
        if it holds objects."""
        path, bad, progress = self.path, self.bad, self.progress
        whole = self.start == 0 and self.end is None
        if whole:
            self.check_exists()
        total = count_lines(path) if progress is not None else 0
        detected = self.detected
        needed = frozenset(formats.REQUIRED_FIELDS[detected]) if detected else frozenset()
        to_record = formats.to_record
        batch: list[Record] = []
        numbers: list[int] = []
        offsets: list[int] = []
        lengths: list[int] = []
        piece = JsonlPiece(path, bad, self.start, self.end)
        name = str(path)
        try:
            for number, offset, length, obj in piece:
                self.objects += 1
                if self.first_fields is None:
                    self.first_fields = sorted(obj)
                if detected is None:
                    detected = self.detected = formats.detect_format(obj)
                    if detected is None:
                        bad.append(BadLine(name, number, _fields_problem(AUTO, obj)))
                        continue
                    needed = frozenset(formats.REQUIRED_FIELDS[detected])
                if not needed <= obj.keys():
                    bad.append(BadLine(name, number, _fields_problem(detected, obj)))
                    continue
                batch.append(to_record(detected, obj, f"{name}:{number}"))
                numbers.append(number)
                offsets.append(offset)
                lengths.append(length)
                if len(batch) == BATCH:
                    self.records += len(batch)
                    if store is not None:
                        store.extend(numbers, offsets, lengths)
                    yield batch
                    batch, numbers, offsets, lengths = [], [], [], []
                if progress is not None and number % 5000 == 0:
                    progress(f"read {path.name}", number, total)
        except OSError as exc:
            raise CurationError(f"input {path}: cannot read ({exc.strerror})") from None
        self.lines = piece.lines
        if batch:
            self.records += len(batch)
            if store is not None:
                store.extend(numbers, offsets, lengths)
            yield batch
        if whole:
            self.check_found()
        if progress is not None:
            progress(f"read {path.name}", total, total)

    def absorb(self, piece: FileReader) -> None:
        """Count a piece read after what this reader has read as read by it."""
        self.lines += piece.lines
        self.objects += piece.objects
        self.records += piece.records
        if self.first_fields is None:
            self.first_fields = piece.first_fields

    def check_found(self) -> None:
        """A file of objects none of which fits is the wrong file, not one of bad lines."""
        if self.objects and not self.records:
            has = ", ".join(self.first_fields or []) or "none"
            needs = formats.describe_needs(self.fmt)
            raise FormatError(f"input {self.path}: records have fields {has} — need {needs}")


def load_file(
    path: Path, fmt: str, bad: list[BadLine], progress: Progress | None = None
) -> tuple[list[Record], str]:
    """Read one input file as ``fmt`` (or detect it); returns its records and its format."""
    reader = FileReader(path, fmt, bad, progress)
    records = [record for batch in reader.batches() for record in batch]
    return records, reader.format


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
